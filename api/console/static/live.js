// The console's client of /api/v1/ws: authenticated by the session cookie (same origin),
// resumed from the last cursor after a drop, with backoff. Pages call
//   consoleLive.subscribe({topics: ["events"], sources: [], statuses: [], cursor: 0},
//                         function (message) {...}, function (state) {...})
// state is "live", "reconnecting" or "off" (no permission or logged out).
(function () {
  "use strict";
  var FINAL = { 4401: true, 4403: true, 4400: true };

  function subscribe(options, onMessage, onState) {
    var cursor = options.cursor || 0;
    var delay = 1000;
    var socket = null;
    function open() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + "/api/v1/ws");
      socket.addEventListener("open", function () {
        socket.send(JSON.stringify({
          type: "subscribe",
          topics: options.topics,
          sources: options.sources || [],
          statuses: options.statuses || [],
          cursor: cursor
        }));
      });
      socket.addEventListener("message", function (event) {
        var message = JSON.parse(event.data);
        if (typeof message.cursor === "number") cursor = Math.max(cursor, message.cursor);
        (message.items || []).forEach(function (item) {
          if (typeof item.cursor === "number") cursor = Math.max(cursor, item.cursor);
        });
        if (message.type === "ready") { delay = 1000; onState("live"); return; }
        if (message.type !== "ping") onMessage(message);
      });
      socket.addEventListener("close", function (event) {
        if (FINAL[event.code]) { onState("off"); return; }
        onState("reconnecting");
        window.setTimeout(open, delay);
        delay = Math.min(delay * 2, 30000);
      });
    }
    open();
    return { close: function () { if (socket) socket.close(); } };
  }

  window.consoleLive = { subscribe: subscribe };
})();
