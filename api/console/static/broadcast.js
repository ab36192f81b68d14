// A broadcast's live progress: the `broadcasts` topic of /api/v1/ws (the console's
// session cookie authenticates it), re-read from the API on every (re)connect so nothing
// announced before the subscription is missed.
(function () {
  "use strict";
  var card, id, socket, retry = 500;

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
    ["sent", "failed", "total"].forEach(function (f) { set(f, item[f]); });
    set("remaining", item.remaining);
    set("canceled", item.canceled);
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

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/api/v1/ws");
    var dot = card.querySelector("[data-live-dot]");
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "subscribe", topics: ["broadcasts"] }));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "ready") { retry = 500; dot.classList.add("on"); resync(); return; }
      if (message.type !== "broadcasts") return;
      message.items.forEach(function (item) { if (item.id === id) show(item); });
    };
    socket.onclose = function () {
      dot.classList.remove("on");
      if (card.getAttribute("data-status") !== "running") return;
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    card = document.querySelector("[data-broadcast]");
    if (!card) return;
    id = parseInt(card.getAttribute("data-broadcast"), 10);
    if (card.getAttribute("data-status") === "running") connect();
  });
})();
