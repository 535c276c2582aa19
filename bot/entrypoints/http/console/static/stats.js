/* newsbot console: the Stats tab (docs/console.md). Deliveries sent and failed per day,
   plotted with uPlot (bundled under static/vendor/, loaded the first time the tab opens),
   the backlog now, the top stories. Uses console.js's helpers (window.NewsbotConsole). */
(function () {
  "use strict";

  var c = window.NewsbotConsole;
  var tg = c.tg;
  var view = c.view;
  var t = c.t;
  var el = c.el;
  var clear = c.clear;
  var note = c.note;
  var api = c.api;
  var when = c.when;

  var chartLibrary = null;

  // uPlot is loaded the first time Stats opens: the console's first load stays small.
  function loadChartLibrary() {
    if (window.uPlot) return Promise.resolve(window.uPlot);
    if (chartLibrary) return chartLibrary;
    chartLibrary = new Promise(function (resolve, reject) {
      var style = document.createElement("link");
      style.rel = "stylesheet";
      style.href = "static/vendor/uPlot.min.css";
      document.head.appendChild(style);
      var script = document.createElement("script");
      script.src = "static/vendor/uPlot.iife.min.js";
      script.onload = function () { resolve(window.uPlot); };
      script.onerror = function () { chartLibrary = null; reject(new Error("uPlot")); };
      document.head.appendChild(script);
    });
    return chartLibrary;
  }

  function themeColor(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // A translucent fill of a #rrggbb colour; none for a colour written otherwise.
  function faint(color) {
    return /^#[0-9a-f]{6}$/i.test(color) ? color + "22" : undefined;
  }

  function sum(lines, key, days) {
    var total = days.map(function () { return 0; });
    lines.forEach(function (line) {
      line[key].forEach(function (count, index) { total[index] += count; });
    });
    return total;
  }

  function age(iso) {
    var seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (seconds < 120) return t("seconds", { n: Math.round(seconds) });
    if (seconds < 7200) return t("minutes", { n: Math.round(seconds / 60) });
    return t("hours", { n: Math.round(seconds / 3600) });
  }

  var statsDays = 7;
  var COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6];

  function showStats() {
    note(t("loading"));
    var plot = null;
    var onResize = null;
    c.onLeave(function () {
      if (onResize) window.removeEventListener("resize", onResize);
      if (onResize && tg && tg.offEvent) tg.offEvent("viewportChanged", onResize);
      if (plot) plot.destroy();
    });
    Promise.all([api("api/stats?days=" + statsDays), loadChartLibrary()]).then(function (got) {
      var body = got[0];
      var uPlot = got[1];
      if (c.current() !== "stats") return;
      clear(view);
      var choices = el("div", "counts");
      [7, 30, 90].forEach(function (days) {
        var chip = el("button", days === statsDays ? "chip chosen" : "chip", t("stats_days", { n: days }));
        chip.type = "button";
        chip.addEventListener("click", function () { statsDays = days; c.open("stats"); });
        choices.appendChild(chip);
      });
      view.appendChild(choices);

      view.appendChild(el("h2", "", t("stats_deliveries")));
      var chart = el("div", "chart");
      chart.id = "stats-chart";
      view.appendChild(chart);
      var sentColor = themeColor("--button", "#2a7bd4");
      var failedColor = themeColor("--danger", "#d63a3a");
      var x = body.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
      var sent = sum(body.series, "sent", body.days);
      var failed = sum(body.series, "failed", body.days);
      var legend = el("div", "counts");
      legend.appendChild(el("span", "chip key-sent", t("stats_sent") + ": " + sent.reduce(function (a, b) { return a + b; }, 0)));
      legend.appendChild(el("span", "chip key-failed", t("stats_failed") + ": " + failed.reduce(function (a, b) { return a + b; }, 0)));
      body.series.forEach(function (line) {
        var total = line.sent.reduce(function (a, b) { return a + b; }, 0);
        var name = line.edition === null ? t("stats_other") : line.edition;
        legend.appendChild(el("span", "chip", name + ": " + total));
      });
      var hint = themeColor("--hint", "#7a7a85");
      var grid = { stroke: themeColor("--card", "#e5e5ea"), width: 1 };
      var options = {
        width: Math.max(200, chart.clientWidth),
        height: 200,
        legend: { show: false },
        cursor: { y: false },
        scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
        axes: [
          { stroke: hint, grid: grid, ticks: grid, space: 50 },
          // Whole deliveries only: no tick at 0.25 of a message.
          { stroke: hint, grid: grid, ticks: grid, size: 40, incrs: COUNT_STEPS,
            values: function (u, ticks) { return ticks.map(function (v) { return String(Math.round(v)); }); } }
        ],
        series: [
          {},
          { label: t("stats_sent"), stroke: sentColor, fill: faint(sentColor), width: 2, points: { show: true } },
          { label: t("stats_failed"), stroke: failedColor, width: 2, points: { show: true } }
        ]
      };
      plot = new uPlot(options, [x, sent, failed], chart);
      onResize = function () { if (plot) plot.setSize({ width: Math.max(200, chart.clientWidth), height: 200 }); };
      window.addEventListener("resize", onResize);
      if (tg && tg.onEvent) tg.onEvent("viewportChanged", onResize);
      view.appendChild(legend);

      view.appendChild(el("h2", "", t("stats_backlog")));
      var backlog = el("div", "item");
      backlog.id = "stats-backlog";
      backlog.appendChild(el("div", "headline", t("stats_depth", { n: body.backlog.depth })));
      backlog.appendChild(el("div", "meta", body.backlog.oldest_waiting
        ? t("stats_oldest", { age: age(body.backlog.oldest_waiting) })
        : t("stats_nothing_waiting")));
      view.appendChild(backlog);

      view.appendChild(el("h2", "", t("stats_top")));
      if (!body.top.length) return view.appendChild(el("p", "note", t("stats_no_top")));
      var list = el("div", "list");
      list.id = "stats-top";
      body.top.forEach(function (story) {
        var item = el("button", "item");
        item.type = "button";
        item.appendChild(el("div", "headline", story.headline));
        var meta = [
          t("stats_reach", { n: story.reach }),
          t("stats_reactions", { n: story.reactions }),
          story.section, story.edition, when(story.time)
        ];
        item.appendChild(el("div", "meta", meta.filter(Boolean).join(" · ")));
        item.addEventListener("click", function () { c.openTrace(story.id); });
        list.appendChild(item);
      });
      view.appendChild(list);
    }, c.failed);
  }

  c.tab("stats", showStats);
})();
