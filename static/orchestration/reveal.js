// Reveal blurred media: POST to the reveal endpoint (which logs the reveal), then
// load the media URL it returns. Without JavaScript the form posts and the page
// reloads with the media shown. Words come from Django's JavaScript catalog
// (djangojs.po, loaded by templates/admin/base_site.html); English without it.
{
const gettext = window.gettext || ((text) => text);
const interpolate = window.interpolate || ((fmt, obj) => fmt.replace(/%\(id\)s/g, obj.id));
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form.orch-reveal");
  if (!form) return;
  event.preventDefault();
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const response = await fetch(form.action, {
    method: "POST",
    headers: { "X-CSRFToken": token, Accept: "application/json" },
    body: new FormData(form),
    credentials: "same-origin",
  });
  const figure = form.closest("figure.orch-media");
  const placeholder = form.closest(".orch-placeholder");
  const data = await response.json().catch(() => ({}));
  if (!response.ok || !data.url || !data.url.startsWith("/")) {
    placeholder.querySelector("span").textContent = data.error || gettext("Reveal refused");
    return;
  }
  const media = document.createElement(data.kind === "video" ? "video" : "img");
  if (data.kind === "video") {
    media.preload = "none";
    media.controls = true;
  } else {
    media.loading = "lazy";
    media.alt = interpolate(gettext("blob %(id)s"), { id: figure.dataset.blob }, true);
  }
  media.width = 240;
  media.src = data.url;
  placeholder.replaceWith(media);
  figure.classList.remove("blurred");
  figure.classList.add("revealed");
});
}
