/* newsbot console: the Approvals tab (docs/console.md). The stories waiting at the editors'
   desk, oldest first: headline, section, the chats waiting on it, how long it has waited;
   Approve, or Skip after Telegram's confirmation. A decision is the desk's own (the server
   updates the desk chat's message too); the list reloads after each, and every 30 s while
   the tab shows. Uses console.js's helpers (window.NewsbotConsole). */
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
  var REFRESH_MS = 30000;
  // The last decision's outcome, shown above the reloaded list; the next reload's timer.
  var lastOutcome = null;
  var timer = null;

  function age(seconds) {
    if (seconds < 120) return t("seconds", { n: Math.round(seconds) });
    if (seconds < 7200) return t("minutes", { n: Math.round(seconds / 60) });
    return t("hours", { n: Math.round(seconds / 3600) });
  }

  function chatsLine(item) {
    var titles = item.chats.map(function (chat) { return chat.title || String(chat.id); });
    var more = item.chat_count - titles.length;
    var line = t("approvals_chats", { n: item.chat_count }) + ": " + titles.join(", ");
    return more > 0 ? line + " " + t("approvals_more", { n: more }) : line;
  }

  function decide(item, decision, buttons) {
    buttons.forEach(function (button) { button.disabled = true; });
    api("api/approvals/" + encodeURIComponent(item.id), { decision: decision }).then(
      function (body) {
        haptic("success");
        lastOutcome = {
          bad: false,
          text: decision === "approve"
            ? t("approvals_approved", { n: body.approval.chat_count })
            : t("approvals_skipped")
        };
        load();
      },
      function (error) {
        haptic("error");
        lastOutcome = { bad: true, text: t("approvals_failed", { error: error.message }) };
        load();
      }
    );
  }

  function card(item) {
    var box = el("div", "item approval");
    box.setAttribute("data-approval", String(item.id));
    box.appendChild(el("div", "headline", item.headline));
    if (item.preview) {
      var bubble = el("div", "bubble");
      bubble.appendChild(c.telegramHtml(item.preview));
      box.appendChild(bubble);
    }
    var meta = [item.section, item.edition].filter(Boolean).join(" · ");
    if (meta) box.appendChild(el("div", "meta", meta));
    box.appendChild(el("div", "reason", chatsLine(item)));
    box.appendChild(el("div", "meta", t("approvals_waited", { age: age(item.waited_seconds) })
      + " · " + t("approvals_expires", { time: c.when(item.expires_at) })));
    if (!item.at_desk) box.appendChild(el("div", "meta", t("approvals_not_at_desk")));
    var actions = el("div", "actions");
    var approve = el("button", "approve", t("approvals_approve"));
    var skip = el("button", "skip", t("approvals_skip"));
    approve.type = skip.type = "button";
    var buttons = [approve, skip];
    approve.addEventListener("click", function () { decide(item, "approve", buttons); });
    skip.addEventListener("click", function () {
      confirmThen(t("approvals_skip_confirm", { headline: item.headline }), function () {
        decide(item, "skip", buttons);
      });
    });
    actions.appendChild(approve);
    actions.appendChild(skip);
    box.appendChild(actions);
    return box;
  }

  function showApprovals() {
    lastOutcome = null;
    c.onLeave(function () { clearTimeout(timer); });
    note(t("loading"));
    load();
  }

  function load() {
    clearTimeout(timer);
    api("api/approvals").then(function (body) {
      if (c.current() !== "approvals") return;
      clear(view);
      if (lastOutcome) {
        var outcome = el("p", lastOutcome.bad ? "meta bad" : "meta good", lastOutcome.text);
        outcome.id = "approvals-outcome";
        view.appendChild(outcome);
      }
      if (!body.approvals.length) {
        var empty = el("p", "note", t("approvals_empty"));
        empty.id = "approvals-empty";
        view.appendChild(empty);
      } else {
        var list = el("div", "list");
        list.id = "approvals";
        body.approvals.forEach(function (item) { list.appendChild(card(item)); });
        view.appendChild(list);
      }
      timer = setTimeout(load, REFRESH_MS);
    }, c.failed);
  }

  c.tab("approvals", showApprovals);
})();
