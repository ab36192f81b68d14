// The feedback pages: live over /api/v1/ws (topic `feedback`). The inbox re-renders its
// list when a message arrives; a thread re-renders when one of its own arrives that it
// does not show yet. "Use the draft" fills the reply box; a sent reply clears it.
(function () {
  "use strict";
  var timer = null;

  function later(fn) {  // one refresh for a burst of messages
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(fn, 150);
  }
  function swap(path, id) {
    window.htmx.ajax("GET", path, { target: "#" + id, select: "#" + id, swap: "outerHTML" });
  }
  function showState(state) {
    var dot = document.querySelector("[data-live-dot]");
    if (dot) dot.classList.toggle("on", state === "live");
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.consoleLive) return;
    var inbox = document.getElementById("feedback-results");
    var thread = document.querySelector("[data-thread-user]");
    if (!inbox && !thread) return;
    window.consoleLive.subscribe({ topics: ["feedback"] }, function (message) {
      if (message.type !== "feedback") return;
      if (inbox) { later(function () { swap(location.pathname + location.search, "feedback-results"); }); return; }
      var user = parseInt(thread.getAttribute("data-thread-user"), 10);
      var fresh = (message.items || []).some(function (item) {
        return item.user_id === user && !document.querySelector('[data-message="' + item.id + '"]');
      });
      if (fresh) later(function () { swap(location.pathname, "thread"); });
    }, showState);
  });

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-use-draft]") : null;
    if (!target) return;
    var box = document.querySelector("[data-reply] textarea");
    if (box) { box.value = target.getAttribute("data-use-draft"); box.focus(); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-reply") && event.detail.successful) {
      form.reset();
    }
  });
})();
