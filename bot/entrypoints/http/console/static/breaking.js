/* newsbot console: the Breaking tab (docs/console.md). A text per edition and the link, a
   live preview rendered by the server (the message exactly as the send renders it), the
   chats it reaches, Telegram's MainButton to send after its confirmation, then the progress
   per edition until nothing waits. Uses console.js's helpers (window.NewsbotConsole). */
(function () {
  "use strict";

  var c = window.NewsbotConsole;
  var tg = c.tg;
  var confirmThen = c.confirmThen;
  var haptic = c.haptic;
  var view = c.view;
  var t = c.t;
  var el = c.el;
  var clear = c.clear;
  var note = c.note;
  var api = c.api;

  var draft = { texts: {}, link: "" };

  var telegramHtml = c.telegramHtml;

  function mainButton() {
    return tg && tg.MainButton && typeof tg.MainButton.setText === "function" ? tg.MainButton : null;
  }

  function showBreaking() {
    clear(view);
    var editions = c.editions();
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
    c.onLeave(stop);
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
    again.addEventListener("click", function () { c.open("breaking"); });
    view.appendChild(again);
    var timer = null;
    c.onLeave(function () { clearTimeout(timer); });

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

  c.tab("breaking", showBreaking);
})();
