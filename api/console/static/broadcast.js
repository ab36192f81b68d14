// A broadcast's live progress: the `broadcasts` topic of /api/v1/ws through the console's
// live client (live.js), re-read from the API whenever the subscription is (re)made so
// nothing announced before it is missed.
(function () {
  "use strict";
  var card, id;

  function set(field, value) {
    var node = card.querySelector('[data-field="' + field + '"]');
    if (node) node.textContent = String(value);
  }

  function show(item) {
    var done = item.sent + item.failed;
    var bar = card.querySelector("progress");
    bar.max = Math.max(item.total, 1);
    bar.value = item.total ? done : (item.status === "done" ? 1 : 0);
    bar.className = "progress-native is-" + item.status;
    ["sent", "failed", "total", "remaining", "canceled"].forEach(function (f) { set(f, item[f]); });
    card.querySelector('[data-figure="canceled"]').classList.toggle("hidden", !item.canceled);
    card.querySelector('[data-test="progress-text"]').textContent = done + " of " + item.total;
    var badge = document.querySelector('[data-test="broadcast-status"]');
    badge.textContent = item.status;
    badge.className = "badge status-" + item.status;
    card.setAttribute("data-status", item.status);
    if (item.status !== "running") {
      var cancel = document.querySelector('[data-test="cancel-form"]');
      if (cancel) cancel.remove();
    }
  }

  function resync() {
    fetch("/api/v1/broadcasts/" + id, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (item) { if (item) show(item); })
      .catch(function () { /* the live messages still come */ });
  }

  function onState(state) {
    card.querySelector("[data-live-dot]").classList.toggle("on", state === "live");
    if (state === "live") resync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    card = document.querySelector("[data-broadcast]");
    if (!card || !window.consoleLive || card.getAttribute("data-status") !== "running") return;
    id = parseInt(card.getAttribute("data-broadcast"), 10);
    window.consoleLive.subscribe({ topics: ["broadcasts"] }, function (message) {
      if (message.type !== "broadcasts") return;
      message.items.forEach(function (item) { if (item.id === id) show(item); });
    }, onState);
  });
})();
