/* newsbot console: a Telegram Mini App for the newsroom's editors (docs/console.md).
   Vanilla JS, no build step. Every API call carries the init data Telegram gave the page
   (Authorization: tma <initData>); the server decides who may see what. Text from the
   server is only ever set as textContent, never inserted as HTML (the breaking preview
   rebuilds Telegram's few tags from inert parsed markup: telegramHtml). The Breaking, Stats,
   Approvals and My channels tabs are in breaking.js, stats.js, approvals.js and channels.js.
   Editors see every tab (My channels when they administer a chat); a channel admin who is
   no editor sees only My channels. */
(function () {
  "use strict";

  var tg = window.Telegram && window.Telegram.WebApp;
  var initData = (tg && tg.initData) || "";
  var view = document.getElementById("view");
  var strings = {};
  var language = "en";
  var editions = [];
  var chats = [];
  // The tabs this user may open (set from the session).
  var visible = [];
  // Runs when the tab showing changes (a tab's timers and Telegram's MainButton stop).
  var leaving = null;

  // The tabs, in order: {id, label, show}. Breaking (breaking.js), Stats (stats.js) and
  // Approvals (approvals.js) live in their own files, which hand over their `show` with NewsbotConsole.tab(id, show).
  var TABS = [
    { id: "breaking", label: "tab_breaking", show: null },
    { id: "stories", label: "tab_stories", show: showStories },
    { id: "stats", label: "tab_stats", show: null },
    { id: "feeds", label: "tab_feeds", show: showFeeds },
    { id: "approvals", label: "tab_approvals", show: null },
    { id: "channels", label: "tab_channels", show: null }
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

  // GET without a body, POST with one (or `method`, e.g. "PUT").
  function api(path, body, method) {
    var options = {
      headers: { Authorization: "tma " + initData },
      credentials: "same-origin"
    };
    if (body !== undefined) {
      options.method = method || "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) {
          var error = new Error(reasonOf(answer) || "HTTP " + response.status);
          error.status = response.status;
          error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
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

  // Telegram's HTML (the subset it renders) as DOM nodes: text stays text, only these tags
  // are rebuilt, links only when http(s). The markup comes from our server's renderer, but
  // nothing from it is ever inserted as HTML (breaking news' and a chat's previews).
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
    if (visible.length < 2) return;  // one tab needs no tab bar
    visible.forEach(function (tab) {
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
    var tab = TABS.filter(function (each) { return each.id === id; })[0];
    if (!tab.show) return note(t("failed_to_load", { error: id }));
    tab.show();
  }

  // Shows a story's trace from another tab (Stats' top stories).
  function openTrace(storyId) {
    if (leaving) leaving();
    leaving = null;
    current = "stories";
    renderTabs();
    showTrace(storyId);
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
      chats = session.chats || [];
      visible = TABS.filter(function (tab) {
        if (tab.id === "channels") return chats.length > 0;
        return session.editor;
      });
      if (!visible.length) return note(t("not_editor"));
      open(visible[0].id);
    }, failed);
  }

  // Ask before an action: Telegram's own dialog, else the browser's.
  function confirmThen(message, then) {
    if (tg && typeof tg.showConfirm === "function") {
      try {
        return tg.showConfirm(message, function (ok) { if (ok) then(); });
      } catch (e) { /* outside Telegram's client the method may refuse: ask the browser */ }
    }
    if (window.confirm(message)) then();
  }

  // A tap's feel, where the client has it.
  function haptic(kind) {
    try {
      if (tg && tg.HapticFeedback) tg.HapticFeedback.notificationOccurred(kind);
    } catch (e) { /* not every client has haptics */ }
  }

  // What breaking.js, stats.js, approvals.js and channels.js use of the page.
  window.NewsbotConsole = {
    tg: tg,
    view: view,
    t: t,
    el: el,
    clear: clear,
    note: note,
    when: when,
    api: api,
    failed: failed,
    telegramHtml: telegramHtml,
    confirmThen: confirmThen,
    haptic: haptic,
    backButton: backButton,
    open: open,
    openTrace: openTrace,
    editions: function () { return editions; },
    // The interface's language ("en", "ru", "kk").
    language: function () { return language; },
    chats: function () { return chats; },
    current: function () { return current; },
    // `stop` runs when the tab showing changes: its timers and Telegram's MainButton stop.
    onLeave: function (stop) { leaving = stop; },
    tab: function (id, show) {
      TABS.forEach(function (tab) { if (tab.id === id) tab.show = show; });
    }
  };

  // After every deferred script (breaking.js ... channels.js) has run and handed over its tab.
  document.addEventListener("DOMContentLoaded", function () {
    fetch("static/i18n.json")
      .then(function (response) { return response.json(); })
      .then(start, function (error) { note(String(error)); });
  });
})();
