/* newsbot console: a Telegram Mini App for the newsroom's editors (docs/console.md).
   Vanilla JS, no build step. Every API call carries the init data Telegram gave the page
   (Authorization: tma <initData>); the server decides who may see what. Text from the
   server is only ever set as textContent, never parsed as HTML. */
(function () {
  "use strict";

  var tg = window.Telegram && window.Telegram.WebApp;
  var initData = (tg && tg.initData) || "";
  var view = document.getElementById("view");
  var strings = {};
  var language = "en";
  var editions = [];
  // Runs when the tab showing changes (a tab's timers and Telegram's MainButton stop).
  var leaving = null;

  // The tabs, in order: {id, label, show}.
  var TABS = [
    { id: "breaking", label: "tab_breaking", show: showBreaking },
    { id: "stories", label: "tab_stories", show: showStories },
    { id: "stats", label: "tab_stats", show: showStats },
    { id: "feeds", label: "tab_feeds", show: showFeeds }
  ];
  var current = TABS[0].id;

  function t(key, values) {
    var text = strings[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function note(text) {
    clear(view).appendChild(el("p", "note", text));
  }

  function when(iso) {
    if (!iso) return t("never");
    var date = new Date(iso);
    try {
      return date.toLocaleString(language, { dateStyle: "short", timeStyle: "short" });
    } catch (e) {
      return date.toISOString().slice(0, 16).replace("T", " ");
    }
  }

  function api(path, body) {
    var options = {
      headers: { Authorization: "tma " + initData },
      credentials: "same-origin"
    };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) {
          var error = new Error(reasonOf(answer) || "HTTP " + response.status);
          error.status = response.status;
          throw error;
        }
        return answer;
      });
    });
  }

  // The server's reason: its error, and for a refused body each wrong field.
  function reasonOf(answer) {
    if (!answer || !answer.error) return "";
    if (!answer.fields || !answer.fields.length) return answer.error;
    return answer.fields.map(function (field) {
      return field.field + ": " + field.message;
    }).join("; ");
  }

  function failed(error) {
    note(error.status === 401 ? t("open_in_telegram") : t("failed_to_load", { error: error.message }));
  }

  function pickLanguage(all, code) {
    var base = String(code || "").split("-")[0].toLowerCase();
    language = all[base] ? base : "en";
    strings = all[language] || {};
    document.documentElement.lang = language;
    document.getElementById("title").textContent = t("title");
    document.title = t("title");
  }

  function backButton(onBack) {
    if (!tg || !tg.BackButton) return;
    if (backButton.handler) tg.BackButton.offClick(backButton.handler);
    backButton.handler = null;
    if (onBack) {
      backButton.handler = onBack;
      tg.BackButton.onClick(onBack);
      tg.BackButton.show();
    } else {
      tg.BackButton.hide();
    }
  }

  function renderTabs() {
    var nav = clear(document.getElementById("tabs"));
    TABS.forEach(function (tab) {
      var button = el("button", "", t(tab.label));
      button.type = "button";
      button.setAttribute("role", "tab");
      button.setAttribute("aria-selected", String(tab.id === current));
      button.addEventListener("click", function () { open(tab.id); });
      nav.appendChild(button);
    });
  }

  function open(id) {
    if (leaving) leaving();
    leaving = null;
    current = id;
    renderTabs();
    backButton(null);
    TABS.filter(function (tab) { return tab.id === id; })[0].show();
  }

  function showStories() {
    note(t("loading"));
    api("api/stories?limit=50").then(function (body) {
      if (!body.stories.length) return note(t("no_stories"));
      var list = el("div", "list");
      body.stories.forEach(function (story) {
        var item = el("button", "item");
        item.type = "button";
        item.appendChild(el("div", "headline", story.headline));
        var meta = [story.section, story.edition, when(story.time)].filter(Boolean).join(" · ");
        item.appendChild(el("div", "meta", meta));
        item.addEventListener("click", function () { showTrace(story.id); });
        list.appendChild(item);
      });
      clear(view).appendChild(list);
    }, failed);
  }

  function showTrace(storyId) {
    note(t("loading"));
    var back = function () { open("stories"); };
    backButton(back);
    api("api/stories/" + encodeURIComponent(storyId) + "/trace").then(function (body) {
      clear(view);
      var backLink = el("button", "back", t("back"));
      backLink.type = "button";
      backLink.addEventListener("click", back);
      view.appendChild(backLink);
      view.appendChild(el("div", "headline", body.story.headline));
      var meta = [body.story.section, body.story.edition, when(body.story.time)];
      view.appendChild(el("div", "meta", meta.filter(Boolean).join(" · ")));
      var outcomes = Object.keys(body.counts);
      var total = outcomes.reduce(function (sum, key) { return sum + body.counts[key]; }, 0);
      if (!total) return view.appendChild(el("p", "note", t("no_chats")));
      var counts = el("div", "counts");
      outcomes.forEach(function (key) {
        counts.appendChild(el("span", "chip", t("outcome_" + key) + ": " + body.counts[key]));
      });
      view.appendChild(counts);
      if (body.truncated) {
        view.appendChild(el("p", "meta", t("truncated", { shown: body.chats.length, total: total })));
      }
      outcomes.forEach(function (key) {
        var chats = body.chats.filter(function (chat) { return chat.outcome === key; });
        if (!chats.length) return;
        view.appendChild(el("h2", "", t("outcome_" + key) + " (" + body.counts[key] + ")"));
        var list = el("div", "list");
        chats.forEach(function (chat) {
          var item = el("div", "item");
          item.appendChild(el("div", "headline", chat.title || chat.type + " " + chat.id));
          var line = [chat.type, chat.id, chat.at ? when(chat.at) : ""].filter(Boolean).join(" · ");
          item.appendChild(el("div", "meta", line));
          if (chat.reason) {
            var bad = key === "failed" || key === "blocked";
            item.appendChild(el("div", bad ? "reason bad" : "reason", chat.reason));
          }
          list.appendChild(item);
        });
        view.appendChild(list);
      });
    }, failed);
  }

  function showFeeds() {
    note(t("loading"));
    api("api/feeds").then(function (body) {
      if (!body.feeds.length) return note(t("no_feeds"));
      var list = el("div", "list");
      body.feeds.forEach(function (feed) {
        var item = el("div", "item");
        var healthy = feed.enabled && !feed.errors_in_a_row;
        item.appendChild(el("div", "headline " + (healthy ? "good" : "bad"), feed.title || feed.url));
        var meta = [feed.url, feed.section, feed.enabled ? "" : t("disabled")];
        item.appendChild(el("div", "meta", meta.filter(Boolean).join(" · ")));
        item.appendChild(el("div", "reason", t("last_success") + ": " + when(feed.last_success)));
        if (feed.last_error) {
          var error = t("last_error") + ": " + feed.last_error;
          if (feed.errors_in_a_row) error += " (" + t("errors_in_a_row", { n: feed.errors_in_a_row }) + ")";
          item.appendChild(el("div", "reason bad", error));
        }
        item.appendChild(el("div", "reason", t("next_check") + ": " + when(feed.next_check)));
        list.appendChild(item);
      });
      clear(view).appendChild(list);
    }, failed);
  }

  // ---- Breaking news: a text per edition, the link, the preview, MainButton, progress ----

  var draft = { texts: {}, link: "" };

  // Telegram's HTML (the subset it renders) as DOM nodes: text stays text, only these tags
  // are rebuilt, links only when http(s). The markup comes from our server's renderer, but
  // nothing from it is ever inserted as HTML.
  var TELEGRAM_TAGS = {
    B: "b", STRONG: "b", I: "i", EM: "i", U: "u", INS: "u", S: "s", STRIKE: "s", DEL: "s",
    CODE: "code", PRE: "pre", BLOCKQUOTE: "blockquote", A: "a"
  };

  function telegramHtml(html) {
    var parsed = new DOMParser().parseFromString("<body>" + html + "</body>", "text/html");
    var out = document.createDocumentFragment();
    (function copy(from, to) {
      Array.prototype.forEach.call(from.childNodes, function (node) {
        if (node.nodeType === 3) return to.appendChild(document.createTextNode(node.nodeValue));
        if (node.nodeType !== 1) return;
        var tag = TELEGRAM_TAGS[node.tagName];
        if (!tag) return copy(node, to);
        var made = document.createElement(tag);
        if (tag === "a") {
          made.href = node.getAttribute("href") || "";
          if (made.protocol !== "http:" && made.protocol !== "https:") return copy(node, to);
          made.target = "_blank";
          made.rel = "noopener noreferrer";
        }
        copy(node, made);
        to.appendChild(made);
      });
    })(parsed.body, out);
    return out;
  }

  function mainButton() {
    return tg && tg.MainButton && typeof tg.MainButton.setText === "function" ? tg.MainButton : null;
  }

  function confirmThen(message, then) {
    if (tg && typeof tg.showConfirm === "function") {
      try {
        return tg.showConfirm(message, function (ok) { if (ok) then(); });
      } catch (e) { /* outside Telegram's client the method may refuse: ask the browser */ }
    }
    if (window.confirm(message)) then();
  }

  function haptic(kind) {
    try {
      if (tg && tg.HapticFeedback) tg.HapticFeedback.notificationOccurred(kind);
    } catch (e) { /* not every client has haptics */ }
  }

  function showBreaking() {
    clear(view);
    if (!editions.length) return note(t("no_editions"));
    var form = el("div", "form");
    var inputs = {};
    editions.forEach(function (edition) {
      var label = el("label", "field");
      label.appendChild(el("span", "field-name", t("breaking_text", { edition: edition })));
      var area = el("textarea");
      area.rows = 3;
      area.maxLength = 3000;
      area.value = draft.texts[edition] || "";
      area.setAttribute("data-edition", edition);
      area.addEventListener("input", function () { draft.texts[edition] = area.value; schedule(); });
      label.appendChild(area);
      inputs[edition] = area;
      form.appendChild(label);
    });
    var linkLabel = el("label", "field");
    linkLabel.appendChild(el("span", "field-name", t("breaking_link")));
    var link = el("input");
    link.type = "url";
    link.inputMode = "url";
    link.value = draft.link;
    link.addEventListener("input", function () { draft.link = link.value; schedule(); });
    linkLabel.appendChild(link);
    form.appendChild(linkLabel);
    view.appendChild(form);
    var preview = el("div", "preview");
    preview.id = "breaking-preview";
    view.appendChild(preview);
    var fallback = null;
    if (!mainButton()) {
      fallback = el("button", "send", "");
      fallback.type = "button";
      fallback.hidden = true;
      fallback.addEventListener("click", function () { send(); });
      view.appendChild(fallback);
    }

    var timer = null;
    var asked = 0;
    var reach = 0;
    var sending = false;

    function body() {
      var texts = {};
      editions.forEach(function (edition) {
        var text = (draft.texts[edition] || "").trim();
        if (text) texts[edition] = text;
      });
      var answer = { texts: texts };
      if (draft.link.trim()) answer.link = draft.link.trim();
      return answer;
    }

    function offer(chats) {
      reach = chats;
      var label = t("breaking_send", { n: chats });
      var button = mainButton();
      if (button) {
        button.setText(label);
        if (chats > 0) { button.enable(); button.show(); } else { button.hide(); }
      } else if (fallback) {
        fallback.textContent = label;
        fallback.hidden = chats <= 0;
      }
    }

    function withdraw() {
      var button = mainButton();
      if (button) button.hide();
      if (fallback) fallback.hidden = true;
    }

    function schedule() {
      clearTimeout(timer);
      withdraw();
      timer = setTimeout(refresh, 400);
    }

    function refresh() {
      var wanted = body();
      var ticket = ++asked;
      if (!Object.keys(wanted.texts).length) {
        clear(preview).appendChild(el("p", "note", t("breaking_empty")));
        return;
      }
      api("api/breaking/preview", wanted).then(function (answer) {
        if (ticket !== asked) return;
        clear(preview);
        answer.editions.forEach(function (version) {
          preview.appendChild(el("div", "meta", t("breaking_version", {
            edition: version.edition, n: version.chats
          })));
          var bubble = el("div", "bubble");
          bubble.appendChild(telegramHtml(version.html));
          (version.buttons || []).forEach(function (row) {
            var line = el("div", "bubble-buttons");
            row.forEach(function (button) { line.appendChild(el("span", "bubble-button", button.text)); });
            bubble.appendChild(line);
          });
          preview.appendChild(bubble);
        });
        preview.appendChild(el("p", "reach", t("breaking_reach", { n: answer.chats })));
        offer(answer.chats);
      }, function (error) {
        if (ticket !== asked) return;
        clear(preview).appendChild(el("p", "reason bad", t("breaking_invalid", { reason: error.message })));
        withdraw();
      });
    }

    function send() {
      if (sending || reach <= 0) return;
      var wanted = body();
      confirmThen(t("breaking_confirm", { n: reach }), function () {
        sending = true;
        var button = mainButton();
        if (button) { button.disable(); button.showProgress(false); }
        api("api/breaking", wanted).then(function (answer) {
          if (button) { button.hideProgress(); button.hide(); }
          haptic("success");
          draft = { texts: {}, link: "" };
          stop();
          showProgress(answer.id);
        }, function (error) {
          sending = false;
          if (button) { button.hideProgress(); button.enable(); }
          haptic("error");
          clear(preview).appendChild(el("p", "reason bad", t("breaking_invalid", { reason: error.message })));
        });
      });
    }

    var button = mainButton();
    if (button) button.onClick(send);
    function stop() {
      clearTimeout(timer);
      asked++;
      var main = mainButton();
      if (main) { main.offClick(send); main.hide(); }
    }
    leaving = stop;
    refresh();
  }

  function showProgress(alertId) {
    clear(view);
    view.appendChild(el("h2", "", t("breaking_progress")));
    var table = el("div", "list");
    table.id = "breaking-progress";
    view.appendChild(table);
    var status = el("p", "meta", t("loading"));
    view.appendChild(status);
    var again = el("button", "send", t("breaking_new"));
    again.type = "button";
    again.hidden = true;
    again.addEventListener("click", function () { open("breaking"); });
    view.appendChild(again);
    var timer = null;
    leaving = function () { clearTimeout(timer); };

    // Every second, or less often when counting a big fan-out takes the server a while.
    function poll() {
      var asked = Date.now();
      api("api/breaking/" + encodeURIComponent(alertId)).then(function (answer) {
        clear(table);
        Object.keys(answer.editions).forEach(function (edition) {
          var counts = answer.editions[edition];
          var item = el("div", "item");
          item.setAttribute("data-edition", edition);
          item.appendChild(el("div", "headline", edition === "all" ? t("edition_all") : edition));
          var line = ["sent", "failed", "queued", "sending"].map(function (state) {
            return t("state_" + state) + ": " + counts[state];
          }).join(" · ");
          item.appendChild(el("div", counts.failed ? "reason bad" : "reason", line));
          table.appendChild(item);
        });
        if (answer.done) {
          status.textContent = t("breaking_done");
          status.className = "meta good done";
          again.hidden = false;
          return;
        }
        status.textContent = t("breaking_sending");
        timer = setTimeout(poll, Math.max(1000, 5 * (Date.now() - asked)));
      }, function (error) {
        status.textContent = t("failed_to_load", { error: error.message });
        timer = setTimeout(poll, 3000);
      });
    }
    poll();
  }

  // ---- Stats: deliveries per day (uPlot, bundled under static/vendor/), backlog, top ----

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
    leaving = function () {
      if (onResize) window.removeEventListener("resize", onResize);
      if (onResize && tg && tg.offEvent) tg.offEvent("viewportChanged", onResize);
      if (plot) plot.destroy();
    };
    Promise.all([api("api/stats?days=" + statsDays), loadChartLibrary()]).then(function (got) {
      var body = got[0];
      var uPlot = got[1];
      if (current !== "stats") return;
      clear(view);
      var choices = el("div", "counts");
      [7, 30, 90].forEach(function (days) {
        var chip = el("button", days === statsDays ? "chip chosen" : "chip", t("stats_days", { n: days }));
        chip.type = "button";
        chip.addEventListener("click", function () { statsDays = days; open("stats"); });
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
        item.addEventListener("click", function () {
          if (leaving) leaving();
          leaving = null;
          current = "stories";
          renderTabs();
          showTrace(story.id);
        });
        list.appendChild(item);
      });
      view.appendChild(list);
    }, failed);
  }

  function start(all) {
    var unsafeUser = tg && tg.initDataUnsafe && tg.initDataUnsafe.user;
    pickLanguage(all, unsafeUser && unsafeUser.language_code);
    if (tg) {
      tg.ready();
      tg.expand();
    }
    if (!initData) return note(t("open_in_telegram"));
    note(t("loading"));
    api("api/session").then(function (session) {
      pickLanguage(all, session.user.language);
      editions = session.editions || [];
      if (!session.editor) return note(t("not_editor"));
      open(current);
    }, failed);
  }

  fetch("static/i18n.json")
    .then(function (response) { return response.json(); })
    .then(start, function (error) { note(String(error)); });
})();
