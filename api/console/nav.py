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
    NavEntry("orders", "Orders", "/admin/orders", "orders:read"),
    NavEntry("customers", "Customers", "/admin/customers", "users:read"),
    NavEntry("feedback", "Feedback", "/admin/feedback", "feedback:read"),
    NavEntry("broadcasts", "Broadcasts", "/admin/broadcasts", "broadcasts:read"),
]
