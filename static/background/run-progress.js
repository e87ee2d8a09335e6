// Polls the JSON status of every task run shown on the page (templates/background/
// _run_progress.html) until it finishes. Text comes translated from the server.
(function () {
  "use strict";
  function poll(box) {
    var url = box.getAttribute("data-run-status-url");
    var field = function (name) { return box.querySelector('[data-field="' + name + '"]'); };
    var delay = 500;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (s) {
          field("status_label").textContent = s.status_label;
          var bar = field("bar");
          bar.max = s.total || 1;
          bar.value = s.total ? s.done : (s.finished ? 1 : 0);
          field("count").textContent = s.total === null ? String(s.done) : s.done + " / " + s.total;
          field("summary").textContent = s.summary;
          var err = field("error");
          err.textContent = s.error ? s.error.split("\n")[0] : "";
          err.style.display = s.error ? "" : "none";
          box.setAttribute("data-status", s.status);
          if (s.finished) { return; }
          delay = Math.min(delay * 1.5, 5000);
          window.setTimeout(tick, delay);
        })
        .catch(function () { delay = Math.min(delay * 2, 10000); window.setTimeout(tick, delay); });
    }
    tick();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-run-status-url]").forEach(poll);
  });
})();
