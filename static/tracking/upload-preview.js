/* The asset upload page: shows the chosen file before it is sent (an object URL of
 * the local file; nothing is uploaded for the preview). tracking/admin/upload.py. */
(function () {
  "use strict";
  const gettext = window.gettext || ((text) => text);
  const interpolate = window.interpolate || ((fmt, obj) => fmt.replace(/%\((\w+)\)s/g, (_m, k) => obj[k]));
  let current = null;

  function show(input, box) {
    if (current) URL.revokeObjectURL(current);
    current = null;
    box.replaceChildren();
    const file = input.files && input.files[0];
    if (!file) return;
    const kind = file.type.split("/")[0];
    const note = document.createElement("p");
    note.className = "quiet";
    note.textContent = interpolate(gettext("%(name)s, %(size)s bytes, not sent yet"),
      { name: file.name, size: file.size.toLocaleString() }, true);
    if (kind === "image" || kind === "video") {
      current = URL.createObjectURL(file);
      const media = document.createElement(kind === "image" ? "img" : "video");
      media.src = current;
      media.style.maxWidth = "480px";
      media.style.maxHeight = "480px";
      if (kind === "image") media.alt = gettext("Preview of the chosen file");
      else { media.controls = true; media.muted = true; }
      box.appendChild(media);
    } else {
      note.textContent = gettext("This does not look like an image or video; the server will check its bytes.");
    }
    box.appendChild(note);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const input = document.getElementById("id_file");
    const box = document.getElementById("upload-preview");
    if (!input || !box) return;
    input.addEventListener("change", () => show(input, box));
    show(input, box);
  });
})();
