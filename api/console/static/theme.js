// Loaded before the page is drawn: applies the theme the operator chose (else the system's).
(function () {
  var chosen = null;
  try { chosen = localStorage.getItem("console-theme"); } catch (e) { /* storage off */ }
  if (chosen === "light" || chosen === "dark") {
    document.documentElement.setAttribute("data-theme", chosen);
  }
})();
