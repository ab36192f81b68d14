// The console's behaviour shared by every page: theme toggle, toasts, confirmation
// dialogs (for htmx `hx-confirm` and plain forms with `data-confirm`), server-rendered
// dialogs swapped into #modal. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";

  // Theme: light, dark, or the system's (no data-theme attribute).
  function currentTheme() {
    var set = document.documentElement.getAttribute("data-theme");
    if (set) return set;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function toggleTheme() {
    var next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    try { localStorage.setItem("console-theme", next); } catch (e) { /* storage off */ }
    document.dispatchEvent(new CustomEvent("console:theme", { detail: next }));
  }

  // Toasts: server flashes are already in #toasts; htmx answers send HX-Trigger: toast.
  function dismissLater(node) {
    window.setTimeout(function () {
      node.classList.add("toast-leaving");
      window.setTimeout(function () { node.remove(); }, 300);
    }, node.classList.contains("toast-error") ? 9000 : 5000);
  }
  function toast(message, kind) {
    var box = document.getElementById("toasts");
    var node = document.createElement("div");
    node.className = "toast toast-" + (kind || "info");
    node.setAttribute("role", kind === "error" ? "alert" : "status");
    node.textContent = message;
    box.appendChild(node);
    dismissLater(node);
  }
  window.consoleToast = toast;

  // The shared confirmation dialog.
  function confirmThen(message, proceed) {
    var dialog = document.getElementById("confirm-dialog");
    dialog.querySelector(".dialog-message").textContent = message;
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "ok") proceed();
    });
    dialog.showModal();
  }

  function openServerDialogs(root) {
    (root || document).querySelectorAll("dialog[data-open]").forEach(function (dialog) {
      dialog.removeAttribute("data-open");
      dialog.addEventListener("close", function () { dialog.remove(); });
      dialog.showModal();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(dismissLater);
    openServerDialogs(document);
  });

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest("[data-theme-toggle]")) toggleTheme();
    var closer = target.closest("[data-close]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  // Plain forms with data-confirm: ask first, then submit for real.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (form.dataset.confirmed === "yes") return;
    event.preventDefault();
    confirmThen(form.dataset.confirm, function () {
      form.dataset.confirmed = "yes";
      form.requestSubmit();
    });
  }, true);

  document.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    toast(detail.message || "Done.", detail.kind);
  });

  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.question;
    if (!question) return;
    event.preventDefault();
    confirmThen(question, function () { event.detail.issueRequest(true); });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    openServerDialogs(event.detail.target);
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.getResponseHeader("HX-Trigger")) return; // the server's own toast says why
    toast("The request failed (" + xhr.status + ").", "error");
  });

  document.addEventListener("htmx:sendError", function () {
    toast("The console cannot reach the server.", "error");
  });
})();
