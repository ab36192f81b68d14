// One event's page: its status badge follows live changes (e.g. after a replay).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var badge = document.getElementById("event-status");
    if (!badge) return;
    var id = Number(badge.dataset.event);
    window.consoleLive.subscribe(
      { topics: ["events"], cursor: Number(badge.dataset.cursor) || 0 },
      function (message) {
        (message.items || []).forEach(function (item) {
          if (item.id !== id) return;
          badge.textContent = item.status;
          badge.className = "badge badge-big status-" + item.status;
        });
      },
      function () {}
    );
  });
})();
