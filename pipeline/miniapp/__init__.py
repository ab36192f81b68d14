"""The Telegram Mini App's server side: initData checks, the cart, checkout, order views."""
