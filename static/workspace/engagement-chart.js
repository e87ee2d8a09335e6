/* Engagement charts: draws each <figure class="engagement-chart"> from its JSON
 * (json_script, workspace/engagement.py) with the vendored Chart.js. The table in the
 * figure stays: it is the same data for readers without scripts or canvas. The time
 * axis is linear over milliseconds, its dates formatted here in the page's language
 * (no date adapter needed); the words come from Django's JavaScript catalog. */
(function () {
  "use strict";
  // Called by this name so makemessages finds the strings for djangojs.po.
  const gettext = window.gettext || ((text) => text);
  // Okabe–Ito colours: told apart with the common colour-vision deficiencies.
  const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
    "#000000", "#F0E442"];
  const DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3]];

  const HOUR = 3600e3;
  const DAY = 24 * HOUR;
  const STEPS = [HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY];

  // Ticks on whole hours or local midnights, at most ~8 of them: a linear axis left to
  // itself would put "nice" milliseconds (not dates) under the labels.
  function timeTicks(min, max) {
    const step = STEPS.find((s) => (max - min) / s <= 8) || STEPS[STEPS.length - 1];
    const start = new Date(min);
    if (step >= DAY) start.setHours(0, 0, 0, 0);
    else start.setMinutes(0, 0, 0);
    const ticks = [];
    for (let v = start.getTime(); v <= max; v += step) {
      if (v >= min) ticks.push(v);
    }
    return { step, ticks };
  }

  function language() {
    const lang = document.documentElement.lang || "en";
    return lang.toLowerCase() === "zh-hans" ? "zh-Hans" : lang;
  }

  function draw(figure) {
    const source = document.getElementById(figure.dataset.chart);
    if (!source || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    const lang = language();
    const day = new Intl.DateTimeFormat(lang, { month: "short", day: "numeric" });
    const hour = new Intl.DateTimeFormat(lang, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
    const moment = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    const holder = document.createElement("div");
    holder.className = "engagement-canvas";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", data.title);
    holder.appendChild(canvas);
    figure.insertBefore(holder, figure.querySelector("table"));
    const xs = data.series.flatMap((s) => s.points.map(([x]) => x));
    let [min, max] = [Math.min(...xs), Math.max(...xs)];
    const pad = Math.max((max - min) * 0.03, min === max ? 12 * HOUR : 0);
    [min, max] = [min - pad, max + pad];
    const axis = timeTicks(min, max);
    const label = axis.step >= DAY ? day : hour;
    new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: data.series.map((s, i) => ({
          label: s.label,
          data: s.points.map(([x, y]) => ({ x, y })),
          borderColor: COLOURS[i % COLOURS.length],
          backgroundColor: COLOURS[i % COLOURS.length],
          borderDash: DASHES[Math.floor(i / COLOURS.length) % DASHES.length],
          borderWidth: 2,
          pointRadius: 2.5,
          tension: 0,
        })),
      },
      options: {
        locale: lang,
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: {
            type: "linear",
            min,
            max,
            title: { display: true, text: gettext("Date") },
            afterBuildTicks: (scale) => {
              scale.ticks = axis.ticks.map((value) => ({ value }));
            },
            ticks: { callback: (value) => label.format(new Date(value)), autoSkip: false },
          },
          y: { beginAtZero: true, title: { display: true, text: gettext("Count") }, ticks: { precision: 0 } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { title: (items) => moment.format(new Date(items[0].parsed.x)) } },
        },
      },
    });
    figure.dataset.drawn = String(data.series.length);
  }

  function drawAll() {
    document.querySelectorAll("figure.engagement-chart").forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
