"""The console's navigation: one line per page (label, path, the scope needed to see it).

Adding a page: a module in `api/console/pages/` with its router, listed in
`pages/__init__.py`, a template, and one line here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    key: str  # pages pass it as `active` to highlight their entry
    label: str
    path: str
    scope: str  # who sees the entry (the page checks it again)


NAV: list[NavEntry] = [
    NavEntry("dashboard", "Dashboard", "/admin/", "stats:read"),
    NavEntry("events", "Events", "/admin/events", "events:read"),
    NavEntry("providers", "Providers", "/admin/providers", "providers:read"),
    NavEntry("catalog", "Catalogue", "/admin/catalog", "catalog:read"),
    NavEntry("alerts", "Alerts", "/admin/alerts", "alerts:read"),
    NavEntry("backups", "Backups", "/admin/backups", "backups:read"),
    NavEntry("staff", "Staff", "/admin/staff", "staff:admin"),
    NavEntry("apikeys", "API keys", "/admin/apikeys", "apikeys:admin"),
    NavEntry("orders", "Orders", "/admin/orders", "orders:read"),
    NavEntry("customers", "Customers", "/admin/customers", "users:read"),
    NavEntry("feedback", "Feedback", "/admin/feedback", "feedback:read"),
    NavEntry("broadcasts", "Broadcasts", "/admin/broadcasts", "broadcasts:read"),
]


def nav_path(key: str) -> str | None:
    """The page of a nav entry, None while that page is not built (links wait for it)."""
    return next((entry.path for entry in NAV if entry.key == key), None)
