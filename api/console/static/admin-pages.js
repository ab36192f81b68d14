// The admin pages' own behaviour: a Copy button for the API key shown once
// (`data-copy` names the element whose text is copied). No inline scripts (CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!target) return;
    var source = document.getElementById(target.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      target.textContent = "Copied";
    }, function () {
      if (window.consoleToast) window.consoleToast("The browser did not allow copying: select the key and copy it.", "error");
    });
  });
})();
