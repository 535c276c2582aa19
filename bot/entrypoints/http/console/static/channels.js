/* newsbot console: the My channels tab (docs/console.md). The chats the user administers
   (the session's `chats`: Telegram's word, asked by the server); one opens as a form of its
   settings (its sections, editions and breaking news ticked as /channels ticks them), with a live preview of its newest story as the form stands (unsaved), the filter
   tester and Save (Telegram's MainButton, or the page's own button outside Telegram), which
   PUTs only the fields changed; "Send a test" (after a confirmation) and the chat's last 30
   deliveries, refreshed after a test. The server checks every value; the page only shows its
   reasons. Uses console.js's helpers (window.NewsbotConsole). */
(function () {
  "use strict";

  var c = window.NewsbotConsole;
  var tg = c.tg;
  var confirmThen = c.confirmThen;
  var view = c.view;
  var t = c.t;
  var el = c.el;
  var clear = c.clear;
  var note = c.note;
  var api = c.api;

  var SWITCHES = ["summary", "related", "image", "link_preview", "hashtags"];
  var LISTS = ["include", "exclude", "include_regex", "exclude_regex"];
  var TEXTS = ["read_button", "signature"];
  // Ticked from the offered choices; PUT as the chat's whole new lists (sorted, as GET has them).
  var CHOICES = ["sections", "editions"];

  function mainButton() {
    return tg && tg.MainButton && typeof tg.MainButton.setText === "function" ? tg.MainButton : null;
  }

  function chatPath(chat, rest) {
    return "api/chats/" + encodeURIComponent(chat.id) + "/" + rest;
  }

  function showChannels() {
    c.backButton(null);
    var chats = c.chats();
    if (!chats.length) return note(t("channels_none"));
    var list = el("div", "list");
    list.id = "channels";
    chats.forEach(function (chat) {
      var item = el("button", "item");
      item.type = "button";
      item.setAttribute("data-chat", String(chat.id));
      item.appendChild(el("div", "headline", chat.title || String(chat.id)));
      item.appendChild(el("div", "meta", t("chat_type_" + chat.type) + " · " + chat.id));
      item.addEventListener("click", function () { showChat(chat); });
      list.appendChild(item);
    });
    clear(view).appendChild(list);
  }

  // The settings as PUT takes them (text "" is null; a list is its non-empty lines).
  function fieldsOf(settings) {
    var fields = {
      template: settings.template,
      utm: settings.utm,
      quiet_hours: settings.pace.quiet_hours,
      max_posts_per_hour: settings.pace.max_posts_per_hour,
      quiet_mode: settings.pace.quiet_mode,
      roundup: settings.pace.roundup,
      approval: settings.approval,
      breaking: settings.breaking,
      sections: settings.sections.slice().sort(),
      editions: settings.editions.slice().sort()
    };
    SWITCHES.concat(TEXTS).forEach(function (name) { fields[name] = settings.format[name]; });
    LISTS.forEach(function (name) { fields[name] = settings.filters[name] || []; });
    return fields;
  }

  // An edition's language by name in the interface's language ("English (en)"), else its code.
  function languageName(code) {
    try {
      var name = new Intl.DisplayNames([c.language()], { type: "language" }).of(code);
      return name && name !== code ? name + " (" + code + ")" : code;
    } catch (e) {
      return code;
    }
  }

  function showChat(chat) {
    note(t("loading"));
    c.backButton(function () { stopChat(); showChannels(); });
    api(chatPath(chat, "settings")).then(function (settings) {
      renderChat(chat, settings);
    }, function (failure) {
      // Telegram says the user no longer administers it (rights are asked again each minute).
      if (failure.status === 403) return note(t("channel_not_yours"));
      c.failed(failure);
    });
  }

  var stopChat = function () {};

  function renderChat(chat, settings, saved) {
    stopChat();
    clear(view);
    var readOnly = settings.managed_by_config;
    var stored = fieldsOf(settings);
    var inputs = {};
    var ticks = { sections: [], editions: [] }; // name -> its checkboxes (data-value: slug or code)

    var back = el("button", "back", t("back"));
    back.type = "button";
    back.addEventListener("click", function () { stopChat(); showChannels(); });
    view.appendChild(back);
    view.appendChild(el("div", "headline", settings.chat.title || String(settings.chat.id)));
    var meta = [t("chat_type_" + settings.chat.type), settings.sections.join(", "),
      settings.editions.join(", ")];
    view.appendChild(el("div", "meta", meta.filter(Boolean).join(" · ")));
    if (readOnly) view.appendChild(el("p", "reason", t("channel_managed")));
    var outcome = el("p", saved ? "reason good" : "reason");
    outcome.id = "channel-outcome";
    if (saved) outcome.textContent = t("channel_saved");
    view.appendChild(outcome);

    var form = el("div", "form");
    form.id = "channel-form";
    function field(name, label, input) {
      var wrap = el("label", "field");
      wrap.appendChild(el("span", "field-name", label));
      wrap.appendChild(input);
      input.setAttribute("data-field", name);
      input.disabled = readOnly;
      input.addEventListener("input", changed);
      input.addEventListener("change", changed);
      inputs[name] = input;
      form.appendChild(wrap);
      return input;
    }
    function text(name, label, value) {
      var input = el("input");
      input.type = "text";
      input.value = value === null || value === undefined ? "" : String(value);
      return field(name, label, input);
    }
    function area(name, label, value, rows) {
      var input = el("textarea");
      input.rows = rows;
      input.value = value;
      return field(name, label, input);
    }
    function toggle(name, label, value) {
      var wrap = el("label", "switch");
      var input = el("input");
      input.type = "checkbox";
      input.checked = Boolean(value);
      input.setAttribute("data-field", name);
      input.disabled = readOnly;
      input.addEventListener("change", changed);
      inputs[name] = input;
      wrap.appendChild(input);
      wrap.appendChild(el("span", "", label));
      form.appendChild(wrap);
    }

    // What /channels changes: sections, breaking news and (with several) editions.
    function choices(name, label, offered) {
      var group = el("fieldset", "choices");
      group.setAttribute("data-field", name);
      group.appendChild(el("legend", "field-name", label));
      offered.forEach(function (choice) {
        var wrap = el("label", "switch");
        var input = el("input");
        input.type = "checkbox";
        input.checked = stored[name].indexOf(choice.value) >= 0;
        input.setAttribute("data-value", choice.value);
        input.disabled = readOnly;
        input.addEventListener("change", changed);
        ticks[name].push(input);
        wrap.appendChild(input);
        wrap.appendChild(el("span", "", choice.label));
        group.appendChild(wrap);
      });
      form.appendChild(group);
    }
    choices("sections", t("channel_sections"), (settings.sections_offered || []).map(function (section) {
      return { value: section.slug, label: section.title };
    }));
    toggle("breaking", t("channel_breaking"), stored.breaking);
    var editions = settings.editions_offered || [];
    if (editions.length > 1 || settings.editions.length > 1) {
      choices("editions", t("channel_editions"), editions.map(function (code) {
        return { value: code, label: languageName(code) };
      }));
    }

    area("template", t("channel_template"), stored.template || "", 4);
    var templateError = el("p", "reason bad");
    templateError.id = "channel-template-error";
    templateError.hidden = true;
    form.appendChild(templateError);
    form.appendChild(el("h2", "", t("channel_format")));
    SWITCHES.forEach(function (name) { toggle(name, t("channel_" + name), stored[name]); });
    TEXTS.forEach(function (name) { text(name, t("channel_" + name), stored[name]); });
    form.appendChild(el("h2", "", t("channel_filters")));
    LISTS.forEach(function (name) {
      area(name, t("channel_" + name), stored[name].join("\n"), 2);
    });
    var tester = el("button", "chip", t("channel_filter_test"));
    tester.type = "button";
    tester.id = "channel-filter-test";
    form.appendChild(tester);
    var tested = el("div", "");
    tested.id = "channel-filter-result";
    form.appendChild(tested);
    form.appendChild(el("h2", "", t("channel_pace")));
    var pace = text("max_posts_per_hour", t("channel_max_posts_per_hour"), stored.max_posts_per_hour);
    pace.inputMode = "numeric";
    toggle("roundup", t("channel_roundup"), stored.roundup);
    text("quiet_hours", t("channel_quiet_hours"), stored.quiet_hours).placeholder = "23:00-07:00";
    var mode = el("select");
    ["silent", "hold"].forEach(function (value) {
      var option = el("option", "", t("channel_quiet_" + value));
      option.value = value;
      mode.appendChild(option);
    });
    mode.value = stored.quiet_mode || "silent";
    field("quiet_mode", t("channel_quiet_mode"), mode);
    if (settings.approval_offered || stored.approval) {
      toggle("approval", t("channel_approval"), stored.approval);
    }
    text("utm", t("channel_utm"), stored.utm).placeholder = "utm_source=telegram";
    view.appendChild(form);

    var error = el("p", "reason bad");
    error.id = "channel-error";
    error.hidden = true;
    view.appendChild(error);
    var fallback = null;
    if (!mainButton() && !readOnly) {
      fallback = el("button", "send", t("channel_save"));
      fallback.type = "button";
      fallback.id = "channel-save";
      fallback.hidden = true;
      fallback.addEventListener("click", function () { save(); });
      view.appendChild(fallback);
    }
    var testButton = el("button", "chip", t("channel_test"));
    testButton.type = "button";
    testButton.id = "channel-test";
    view.appendChild(testButton);
    var testOutcome = el("p", "reason");
    testOutcome.id = "channel-test-outcome";
    view.appendChild(testOutcome);

    view.appendChild(el("h2", "", t("channel_preview")));
    var preview = el("div", "preview");
    preview.id = "channel-preview";
    view.appendChild(preview);

    view.appendChild(el("h2", "", t("channel_history")));
    var history = el("div", "list");
    history.id = "channel-history";
    view.appendChild(history);

    function showHistory() {
      api(chatPath(chat, "history?limit=30")).then(function (answer) {
        clear(history);
        if (!answer.deliveries.length) return history.appendChild(el("p", "note", t("channel_history_none")));
        answer.deliveries.forEach(function (row) {
          var item = el("div", "item");
          item.setAttribute("data-outcome", row.outcome);
          var title = row.headline || (row.digest ? t("channel_history_digest", { slot: row.digest }) : "");
          item.appendChild(el("div", "headline", title));
          var word = t("outcome_" + row.outcome);
          var meta = [word === "outcome_" + row.outcome ? row.outcome : word, c.when(row.sent || row.queued)];
          item.appendChild(el("div", "meta", meta.join(" · ")));
          if (row.reason) item.appendChild(el("div", "reason", row.reason));
          history.appendChild(item);
        });
      }, function (failure) {
        clear(history).appendChild(el("p", "reason bad", t("failed_to_load", { error: failure.message })));
      });
    }

    function sendTest() {
      testButton.disabled = true;
      testOutcome.className = "reason";
      testOutcome.textContent = t("loading");
      api(chatPath(chat, "test"), {}).then(function () {
        testButton.disabled = false;
        testOutcome.className = "reason good";
        testOutcome.textContent = t("channel_test_sent");
        showHistory();
      }, function (failure) {
        testButton.disabled = false;
        testOutcome.className = "reason bad";
        if (failure.status === 429) {
          testOutcome.textContent = t("channel_test_wait", { n: failure.retryAfter || 60 });
        } else if (failure.status === 404) {
          testOutcome.textContent = t("channel_test_no_story");
        } else {
          testOutcome.textContent = t("channel_test_failed", { reason: failure.message });
        }
        showHistory();
      });
    }

    testButton.addEventListener("click", function () {
      confirmThen(t("channel_test_confirm"), sendTest);
    });

    function current() {
      var fields = {};
      CHOICES.forEach(function (name) {
        if (!ticks[name].length) return;
        fields[name] = ticks[name].filter(function (input) { return input.checked; })
          .map(function (input) { return input.getAttribute("data-value"); }).sort();
      });
      Object.keys(inputs).forEach(function (name) {
        var input = inputs[name];
        if (input.type === "checkbox") {
          fields[name] = input.checked;
        } else if (LISTS.indexOf(name) >= 0) {
          fields[name] = input.value.split("\n").map(function (line) { return line.trim(); })
            .filter(Boolean);
        } else {
          var value = input.value.trim() === "" ? null : input.value;
          if (name === "max_posts_per_hour" && value !== null && /^\d+$/.test(value.trim())) {
            value = Number(value.trim());
          }
          fields[name] = value;
        }
      });
      return fields;
    }

    function changes() {
      var now = current();
      var diff = {};
      Object.keys(now).forEach(function (name) {
        if (JSON.stringify(now[name]) !== JSON.stringify(stored[name])) diff[name] = now[name];
      });
      return diff;
    }

    var timer = null;
    var asked = 0;
    var saving = false;

    function offer() {
      if (readOnly) return;
      var dirty = Object.keys(changes()).length > 0;
      var button = mainButton();
      if (button) {
        button.setText(t("channel_save"));
        if (dirty) { button.enable(); button.show(); } else { button.hide(); }
      } else if (fallback) {
        fallback.hidden = !dirty;
      }
    }

    function changed() {
      error.hidden = true;
      outcome.textContent = "";
      offer();
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    }

    function refresh() {
      var ticket = ++asked;
      api(chatPath(chat, "preview"), changes()).then(function (answer) {
        if (ticket !== asked) return;
        templateError.hidden = true;
        clear(preview);
        if (!answer.message) return preview.appendChild(el("p", "note", t("channel_no_story")));
        var bubble = el("div", "bubble");
        if (answer.message.photo) bubble.appendChild(el("div", "meta", t("channel_photo")));
        bubble.appendChild(c.telegramHtml(answer.message.html));
        (answer.message.buttons || []).forEach(function (row) {
          var line = el("div", "bubble-buttons");
          row.forEach(function (button) { line.appendChild(el("span", "bubble-button", button.text)); });
          bubble.appendChild(line);
        });
        preview.appendChild(bubble);
      }, function (failure) {
        if (ticket !== asked) return;
        // The reason in place: under the template (the field the preview is for).
        templateError.textContent = t("channel_invalid", { reason: failure.message });
        templateError.hidden = false;
        clear(preview);
      });
    }

    function showTested(answer) {
      clear(tested);
      [["passed", "good"], ["stopped", "bad"]].forEach(function (pair) {
        var stories = answer[pair[0]];
        var list = el("div", "list");
        list.setAttribute("data-outcome", pair[0]);
        list.appendChild(el("div", "headline " + pair[1], t("channel_" + pair[0], { n: stories.length })));
        stories.forEach(function (story) { list.appendChild(el("div", "reason", story.headline)); });
        tested.appendChild(list);
      });
    }

    tester.addEventListener("click", function () {
      var now = current();
      var filters = {};
      LISTS.forEach(function (name) { filters[name] = now[name]; });
      clear(tested).appendChild(el("p", "meta", t("loading")));
      api(chatPath(chat, "filter-test"), filters).then(showTested, function (failure) {
        clear(tested).appendChild(el("p", "reason bad", t("channel_invalid", { reason: failure.message })));
      });
    });

    function save() {
      var diff = changes();
      if (saving || readOnly || !Object.keys(diff).length) return;
      saving = true;
      var button = mainButton();
      if (button) { button.disable(); button.showProgress(false); }
      api(chatPath(chat, "settings"), diff, "PUT").then(function (answer) {
        saving = false;
        if (button) { button.hideProgress(); button.hide(); }
        renderChat(chat, answer, true);
      }, function (failure) {
        saving = false;
        if (button) { button.hideProgress(); button.enable(); }
        error.textContent = t("channel_not_saved", { reason: failure.message });
        error.hidden = false;
      });
    }

    var main = mainButton();
    if (main && !readOnly) main.onClick(save);
    stopChat = function () {
      clearTimeout(timer);
      asked++;
      var button = mainButton();
      if (button) { button.offClick(save); button.hide(); }
      stopChat = function () {};
    };
    c.onLeave(function () { stopChat(); });
    offer();
    refresh();
    showHistory();
  }

  c.tab("channels", showChannels);
})();
