// Keyboard review on a job page (issue 14 item 2). Every key has a visible control
// beside it (radio buttons, the two submit buttons, the previous/next links, the
// Reveal button), so nothing here is reachable only by keyboard or only by mouse.
// What happens is said in the #review-live region for screen readers.
(() => {
  // Named gettext so makemessages extracts the strings; the catalog script defines it.
  const gettext = window.gettext || ((text) => text);
  const live = document.getElementById("review-live");
  const form = document.getElementById("decision-form");
  const dialog = document.getElementById("review-keys");
  if (!live || !form) return;

  const say = (text) => {
    // Emptied first so the same sentence twice is still announced.
    live.textContent = "";
    window.setTimeout(() => { live.textContent = text; }, 50);
  };

  // Say the page's messages ("Decision recorded…", "Now job …") once it has loaded:
  // a live region announces changes, not what it held when the page arrived.
  const messages = [...document.querySelectorAll(".messagelist li")].map((li) => li.textContent.trim());
  if (messages.length) say(messages.join(" "));

  const note = form.querySelector("textarea[name=note]");
  const andNext = form.querySelector("button[name=and_next]");
  const choose = (value) => {
    const radio = form.querySelector(`input[name=decision][value="${value}"]`);
    if (radio) radio.checked = true;
    return radio;
  };
  const submitAndNext = () => {
    if (form.requestSubmit) form.requestSubmit(andNext);
    else andNext.click();
  };
  const go = (id, none) => {
    const link = document.getElementById(id);
    if (link) { say(link.textContent.trim()); window.location.assign(link.href); }
    else say(t(none));
  };

  const actions = {
    c: () => {
      choose("cleared");
      say(gettext("Cleared: recording the decision and opening the next job."));
      submitAndNext();
    },
    v: () => {
      choose("confirmed_violation");
      note.focus();
      say(gettext("Confirmed violation: type the note, then press Control+Enter to record it."));
    },
    e: () => {
      choose("escalated");
      note.focus();
      say(gettext("Escalated: type the note, then press Control+Enter to record it."));
    },
    j: () => go("review-next", "No next job in the queue."),
    k: () => go("review-previous", "This is the first job of the queue."),
    r: () => {
      const reveal = document.querySelector("form.orch-reveal button");
      if (reveal) { reveal.click(); say(gettext("Media revealed (the reveal is logged).")); }
      else say(gettext("Nothing to reveal on this page."));
    },
    "?": () => openKeys(),
  };

  const openKeys = () => {
    if (!dialog) return;
    dialog.showModal();
    say(gettext("Keyboard shortcuts shown. Escape closes them."));
  };
  const opener = document.getElementById("review-keys-open");
  if (opener) opener.addEventListener("click", openKeys);

  note.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      const chosen = form.querySelector("input[name=decision]:checked");
      if (!chosen) { say(gettext("Choose a decision first: c, v or e.")); return; }
      if (chosen.value !== "cleared" && !note.value.trim()) {
        say(gettext("A note is required for a violation or an escalation."));
        return;
      }
      say(gettext("Recording the decision and opening the next job."));
      submitAndNext();
    } else if (event.key === "Escape") {
      note.blur();
      say(gettext("Left the note. Keys work again."));
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (dialog && dialog.open) return;
    const target = event.target;
    if (target.closest("input, textarea, select, [contenteditable]")) return;
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });
})();
