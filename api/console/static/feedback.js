// The feedback thread: "Use the draft" fills the reply box; a sent reply clears it.
(function () {
  "use strict";
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
