// The shop's Telegram Mini App: plain DOM, no build step. The API is /api/v1/miniapp/…,
// authenticated by Telegram's initData (`Authorization: tma …`); order changes arrive
// over /api/v1/miniapp/ws.
"use strict";
(function () {
  const API = "/api/v1/miniapp";
  const TEXTS = "/app/i18n/";  // the gettext catalogues' texts, one JSON per language
  const tg = (window.Telegram && window.Telegram.WebApp) || null;
  // Outside Telegram (a local browser, `pipeline miniapp dev-link`) initData is in the hash.
  const initData = (tg && tg.initData) ||
    new URLSearchParams(location.hash.slice(1)).get("tgWebAppData") || "";
  const state = { view: "catalog", lang: "en", me: null, catalog: [], methods: [], cart: [],
                  orders: new Map(), order: null, method: null, socket: null, live: false,
                  texts: {} };
  const $ = (id) => document.getElementById(id);

  function t(key, params) {
    const texts = state.texts[state.lang] || {};
    let out = texts[key] || (state.texts.en || {})[key] || key;
    for (const [k, v] of Object.entries(params || {})) out = out.replace(`{${k}}`, v);
    return out;
  }

  // English first (the fallback of every text), then the buyer's language when it differs.
  async function loadTexts(lang) {
    if (state.texts[lang]) return;
    const response = await fetch(TEXTS + encodeURIComponent(lang) + ".json");
    if (response.ok) state.texts[lang] = await response.json();
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "onclick") node.addEventListener("click", v);
      else if (k === "class") node.className = v;
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function money(minor, currency) {
    if (currency === "XTR") return t("stars", { n: minor });
    const places = currency === "JPY" ? 0 : 2;
    return new Intl.NumberFormat(state.lang, { style: "currency", currency })
      .format(minor / 10 ** places);
  }

  function haptic(kind) {
    const h = tg && tg.HapticFeedback;
    if (!h) return;
    if (kind === "success" || kind === "error") h.notificationOccurred(kind);
    else h.impactOccurred(kind || "light");
  }

  function notify(message) {
    const box = $("notice");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(notify.timer);
    notify.timer = setTimeout(() => { box.hidden = true; }, 3000);
  }

  async function api(method, path, body) {
    const response = await fetch(API + path, {
      method,
      headers: { "Authorization": "tma " + initData, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || data.title || response.statusText);
    return data;
  }

  // ---- theme -------------------------------------------------------------------------
  function applyTheme() {
    const params = (tg && tg.themeParams) || {};
    const root = document.documentElement.style;
    for (const [key, value] of Object.entries(params)) {
      root.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
    }
    const dark = tg ? tg.colorScheme === "dark"
      : window.matchMedia("(prefers-color-scheme: dark)").matches;
    document.body.classList.toggle("dark", dark);
  }

  // ---- Telegram buttons --------------------------------------------------------------
  function mainButton(text, onClick) {
    const button = tg && tg.MainButton;
    if (!button) return false;
    if (mainButton.handler) button.offClick(mainButton.handler);
    mainButton.handler = null;
    if (!text) { button.hide(); return true; }
    mainButton.handler = onClick;
    button.setText(text);
    button.onClick(onClick);
    button.show();
    return true;
  }

  function backButton() {
    const button = tg && tg.BackButton;
    if (!button) return;
    if (state.view === "catalog") button.hide(); else button.show();
  }

  // ---- views -------------------------------------------------------------------------
  function go(view, extra) {
    state.view = view;
    Object.assign(state, extra || {});
    render();
  }

  function render() {
    document.documentElement.lang = state.lang;
    $("title").textContent = (state.me && state.me.shop_name) || t("shop");
    for (const button of $("tabs").querySelectorAll("button")) {
      button.textContent = t(button.dataset.view);
      button.classList.toggle("active", button.dataset.view === state.view);
    }
    $("langs").replaceChildren(...((state.me && state.me.languages) || ["en", "ru"]).map(
      (code) => el("button", { "aria-pressed": String(code === state.lang), "data-lang": code,
                               onclick: () => switchLanguage(code) }, code.toUpperCase())));
    const main = $("main");
    mainButton(null);
    const views = { catalog: viewCatalog, cart: viewCart, orders: viewOrders,
                    order: viewOrder, feedback: viewFeedback };
    main.replaceChildren(...views[state.view]());
    backButton();
  }

  function inCart(productId) {
    const line = state.cart.find((l) => l.product.id === productId);
    return line ? line.quantity : 0;
  }

  // The address was checked when written (https:// or /static/ only); a product without a
  // photo, or whose photo fails to load, shows a neutral placeholder of the same size.
  function photo(p) {
    const placeholder = () => el("div", { class: "photo placeholder", role: "img",
                                          "aria-label": p.title });
    if (!p.image_url) return placeholder();
    const img = el("img", { class: "photo", src: p.image_url, alt: p.title, loading: "lazy",
                            decoding: "async", referrerpolicy: "no-referrer" });
    img.addEventListener("error", () => img.replaceWith(placeholder()));
    return img;
  }

  function viewCatalog() {
    if (!state.catalog.length) return [el("p", { class: "empty" }, t("empty_catalog"))];
    return state.catalog.map((p) => {
      const n = inCart(p.id);
      return el("article", { class: "card", "data-product": p.code },
        photo(p),
        el("h2", {}, p.title),
        p.description ? el("p", {}, p.description) : null,
        el("div", { class: "row" },
          el("span", { class: "price" }, money(p.price_minor, p.currency),
             p.stars_price ? ` · ${t("stars", { n: p.stars_price })}` : ""),
          el("button", { class: "small add", onclick: () => setQuantity(p.id, n + 1) },
             n ? t("added", { n }) : t("add"))));
    });
  }

  function viewCart() {
    if (!state.cart.length) return [el("p", { class: "empty" }, t("empty_cart"))];
    const methods = state.methods.filter((m) => m !== "stars" ||
      state.cart.every((l) => l.product.stars_price));
    if (!methods.includes(state.method)) state.method = methods[0] || null;
    // What each line costs paid the chosen way (Stars or money).
    const cost = (l) => state.method === "stars"
      ? money(l.product.stars_price * l.quantity, "XTR")
      : money(l.product.price_minor * l.quantity, l.product.currency);
    const lines = state.cart.map((l) => el("article", { class: "card" },
      el("h2", {}, l.product.title),
      el("div", { class: "row" },
        el("span", { class: "price" }, cost(l)),
        el("span", { class: "qty" },
          el("button", { class: "small", onclick: () => setQuantity(l.product.id, l.quantity - 1) }, "−"),
          el("span", {}, String(l.quantity)),
          el("button", { class: "small", onclick: () => setQuantity(l.product.id, l.quantity + 1) }, "+")))));
    const choices = el("fieldset", { class: "card" }, el("legend", {}, t("pay_with")),
      methods.map((m) => el("label", { class: "method" },
        el("input", { type: "radio", name: "method", value: m, checked: m === state.method,
                      onclick: () => { state.method = m; render(); } }),
        t("method_" + m))));
    const out = [...lines, choices];
    if (!mainButton(t("checkout"), checkout)) {
      out.push(el("button", { class: "primary", id: "checkout", onclick: checkout }, t("checkout")));
    }
    return out;
  }

  function shownStatus(order) {
    return order.status === "paid" && order.receipt_urls.length ? "receipt_issued" : order.status;
  }

  function viewOrders() {
    const list = [...state.orders.values()];
    if (!list.length) return [el("p", { class: "empty" }, t("empty_orders"))];
    return list.map((o) => el("article", { class: "card", "data-order": o.public_id,
                                           onclick: () => openOrder(o.public_id) },
      el("div", { class: "row" },
        el("h2", {}, o.product ? o.product.title : o.public_id),
        el("span", { class: "status " + shownStatus(o) }, t("status_" + shownStatus(o)))),
      el("p", {}, `${o.public_id} · ${money(o.amount_minor, o.currency)}`)));
  }

  const STEPS = ["created", "paid", "receipt_issued", "refunded"];

  function viewOrder() {
    const o = state.orders.get(state.order);
    if (!o) return [el("p", { class: "empty" }, "…")];
    const shown = shownStatus(o);
    const reached = { created: 0, pending: 0, paid: 1, receipt_issued: 2,
                      partially_refunded: 3, refunded: 3 }[shown] ?? 0;
    const steps = el("ol", { class: "steps", id: "steps" }, STEPS.map((s, i) =>
      el("li", { class: (i <= reached ? "done" : "") + (i === reached ? " current" : ""),
                 "data-step": s }, t("status_" + s))));
    const out = [el("article", { class: "card", id: "order", "data-status": shown },
      el("h2", {}, `${t("order")} ${o.public_id}`),
      o.product ? el("p", {}, `${o.product.title} × ${o.quantity}`) : null,
      el("p", {}, `${t("total")}: ${money(o.amount_minor, o.currency)}`),
      el("p", {}, el("span", { class: "status " + shown, id: "status" }, t("status_" + shown))),
      steps,
      o.receipt_urls.map((url) => el("p", {}, el("a", { href: url, class: "receipt",
        target: "_blank", rel: "noopener" }, t("receipt")))))];
    if (["created", "pending"].includes(o.status)) {
      if (!mainButton(t("pay"), () => pay(o.public_id))) {
        out.push(el("button", { class: "primary", id: "pay", onclick: () => pay(o.public_id) }, t("pay")));
      }
    }
    return out;
  }

  function viewFeedback() {
    const area = el("textarea", { id: "feedback-text", maxlength: "2000" });
    const send = async () => {
      if (!area.value.trim()) return;
      try {
        await api("POST", "/feedback", { text: area.value.trim() });
        area.value = "";
        haptic("success");
        notify(t("feedback_sent"));
      } catch (e) { haptic("error"); notify(e.message); }
    };
    const out = [askBox(), el("p", {}, t("feedback_hint")), area];
    if (!mainButton(t("send"), send)) out.push(el("button", { class: "primary", onclick: send }, t("send")));
    return out;
  }

  // The shop's assistant answers from its FAQ, catalogue and the buyer's own orders; what it
  // cannot answer goes to the operators, and the answer says so.
  function askBox() {
    const input = el("input", { id: "ask-text", type: "text", maxlength: "2000",
                                placeholder: t("ask_hint"), "aria-label": t("ask") });
    const answer = el("p", { id: "ask-answer", class: "answer", "aria-live": "polite" });
    const ask = async (event) => {
      event.preventDefault();
      const question = input.value.trim();
      if (!question) return;
      answer.textContent = t("ask_wait");
      try {
        const reply = await api("POST", "/assistant", { text: question });
        answer.textContent = reply.answer;
        answer.dataset.handedOff = String(reply.handed_off);
        haptic("light");
      } catch (e) { answer.textContent = ""; haptic("error"); notify(e.message); }
    };
    const form = el("form", { class: "ask", id: "ask" }, input,
      el("button", { class: "small", id: "ask-send", type: "submit" }, t("ask")));
    form.addEventListener("submit", ask);
    return el("section", { class: "card" }, el("h2", {}, t("ask_title")), form, answer);
  }

  // ---- actions -----------------------------------------------------------------------
  async function setQuantity(productId, quantity) {
    try {
      const cart = await api("PUT", `/cart/${productId}`, { quantity: Math.max(0, quantity) });
      state.cart = cart.items;
      haptic("light");
      render();
    } catch (e) { haptic("error"); notify(e.message); }
  }

  async function checkout() {
    if (!state.method) return;
    try {
      const result = await api("POST", "/checkout", { method: state.method });
      result.orders.forEach(merge);
      state.cart = [];
      haptic("medium");
      go("order", { order: result.orders[0].public_id });
    } catch (e) { haptic("error"); notify(e.message); }
  }

  async function pay(publicId) {
    try {
      const payment = await api("POST", `/orders/${publicId}/pay`);
      if (payment.kind === "link") {
        if (tg) tg.openLink(payment.url); else window.open(payment.url, "_blank");
        return;
      }
      tg.openInvoice(payment.url, (status) => {
        if (status === "paid") { haptic("success"); notify(t("paid_now")); }
        else if (status === "cancelled") notify(t("cancelled"));
        else if (status === "failed") { haptic("error"); notify(t("failed")); }
      });
    } catch (e) { haptic("error"); notify(e.message); }
  }

  async function openOrder(publicId) {
    go("order", { order: publicId });
    try { merge(await api("GET", `/orders/${publicId}`)); render(); } catch (e) { notify(e.message); }
  }

  async function switchLanguage(code) {
    try {
      state.me = await api("PUT", "/me/language", { language: code });
      await loadTexts(code);
      state.lang = code;
      await loadAll();
    } catch (e) { notify(e.message); }
  }

  function merge(item) {
    const known = state.orders.get(item.public_id) || {};
    state.orders.set(item.public_id, { ...known, ...item });
  }

  async function loadAll() {
    const [catalog, cart, orders] = await Promise.all(
      [api("GET", "/catalog"), api("GET", "/cart"), api("GET", "/orders")]);
    state.catalog = catalog.items;
    state.methods = catalog.methods;
    state.cart = cart.items;
    state.orders = new Map();
    orders.items.forEach(merge);
    render();
  }

  // ---- live order status -------------------------------------------------------------
  function connect(delay) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${API}/ws`);
    state.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "subscribe", init_data: initData }));
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "ready") { state.live = true; document.body.dataset.live = "1"; return; }
      if (data.type !== "orders") return;
      for (const item of data.items) {
        const before = state.orders.get(item.public_id);
        if (before && before.status !== item.status && item.status === "paid") haptic("success");
        merge(item);
      }
      if (state.view === "orders" || state.view === "order") render();
    };
    socket.onclose = (event) => {
      state.live = false;
      delete document.body.dataset.live;
      if (event.code === 4401) return; // initData no longer valid: reopening the app helps
      const next = Math.min((delay || 500) * 2, 15000);
      setTimeout(() => connect(next), delay || 500);  // the server re-sends the orders
    };
  }

  // ---- start -------------------------------------------------------------------------
  async function start() {
    if (tg) {
      tg.ready();
      tg.expand();
      tg.onEvent("themeChanged", applyTheme);
      if (tg.BackButton) tg.BackButton.onClick(() => go(state.view === "order" ? "orders" : "catalog"));
    }
    applyTheme();
    for (const button of $("tabs").querySelectorAll("button")) {
      button.addEventListener("click", () => go(button.dataset.view));
    }
    try { await loadTexts("en"); } catch (e) { /* the keys show; the API may still answer */ }
    if (!initData) { $("main").replaceChildren(el("p", { class: "empty" }, t("offline"))); return; }
    try {
      state.me = await api("GET", "/me");
      await loadTexts(state.me.language);
      state.lang = state.me.language;
      await loadAll();
      connect();
    } catch (e) { $("main").replaceChildren(el("p", { class: "empty" }, e.message)); }
  }

  start();
})();
