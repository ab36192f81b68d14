"""The Telegram Mini App: its static page under `/app/` and the buyer's authentication."""
