// The events list: live over /api/v1/ws. A change that may concern the current filter
// re-renders the table through htmx (the server applies the whole filter); rows that
// were not there before are highlighted.
(function () {
  "use strict";
  var STATES = { live: "Live: new events appear here", reconnecting: "Reconnecting…", off: "Live updates are off" };
  var timer = null;

  function meta() { return document.getElementById("events-meta"); }
  function shownIds() {
    var ids = {};
    document.querySelectorAll("#events-table tr[data-event]").forEach(function (row) {
      ids[row.dataset.event] = true;
    });
    return ids;
  }
  function refresh() {
    var form = document.getElementById("event-filters");
    var params = new URLSearchParams(new FormData(form)).toString();
    var before = shownIds();
    window.htmx.ajax("GET", "/admin/events?" + params, { target: "#events-results" })
      .then(function () {
        document.querySelectorAll("#events-table tr[data-event]").forEach(function (row) {
          if (!before[row.dataset.event]) row.classList.add("row-new");
        });
      });
  }
  function setState(state) {
    document.getElementById("live-dot").classList.toggle("on", state === "live");
    document.getElementById("live-state").textContent = STATES[state];
  }
  function syncRetryButton() {
    var button = document.getElementById("bulk-retry");
    var info = meta();
    if (!button || !info) return;
    var ok = info.dataset.retryable === "yes";
    button.disabled = !ok;
    button.title = ok ? "" : "Filter on dead or failed events first";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("event-filters");
    if (!form) return;
    var live = JSON.parse(form.dataset.live || "{}");
    window.consoleLive.subscribe(
      { topics: ["events"], sources: live.sources, statuses: live.statuses,
        cursor: Number(meta().dataset.cursor) || 0 },
      function (message) {
        if (message.type !== "events" || meta().dataset.firstPage !== "yes") return;
        window.clearTimeout(timer);
        timer = window.setTimeout(refresh, 300);
      },
      setState
    );
    document.addEventListener("htmx:afterSwap", syncRetryButton);
  });
})();
