// A stand-in for telegram-web-app.js in browser tests: the WebApp object a Mini App sees
// inside Telegram, with initData and the theme filled in by the test (__CONFIG__) and the
// native parts (MainButton, BackButton, invoices, haptics) recorded for assertions.
(function () {
  const config = __CONFIG__;
  const recorded = { invoices: [], links: [], haptics: [] };
  function button() {
    return {
      text: "", isVisible: false, handlers: [],
      setText(text) { this.text = text; return this; },
      onClick(fn) { this.handlers.push(fn); return this; },
      offClick(fn) { this.handlers = this.handlers.filter((h) => h !== fn); return this; },
      show() { this.isVisible = true; return this; },
      hide() { this.isVisible = false; return this; },
      click() { this.handlers.forEach((h) => h()); },
    };
  }
  window.__telegram = recorded;
  window.Telegram = {
    WebApp: {
      initData: config.initData,
      initDataUnsafe: {},
      version: "8.0",
      platform: "test",
      colorScheme: config.colorScheme,
      themeParams: config.themeParams,
      ready() {}, expand() {}, onEvent() {},
      openLink(url) { recorded.links.push(url); },
      openInvoice(url, callback) { recorded.invoices.push(url); recorded.callback = callback; },
      MainButton: button(),
      BackButton: button(),
      HapticFeedback: {
        impactOccurred(style) { recorded.haptics.push(style); },
        notificationOccurred(kind) { recorded.haptics.push(kind); },
      },
    },
  };
})();
