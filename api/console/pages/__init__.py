"""Every console page's router, included by `install_console` (add a page: one line here,
one entry in `api/console/nav.py`)."""

from __future__ import annotations

from fastapi import APIRouter

from api.console.pages import (
    alerts,
    apikeys,
    backups,
    broadcasts,
    catalog,
    customers,
    dashboard,
    events,
    feedback,
    login,
    orders,
    providers,
    sessions,
    staff,
)

ROUTERS: list[APIRouter] = [
    login.router,
    sessions.router,
    dashboard.router,
    events.router,
    providers.router,
    orders.router,
    customers.router,
    feedback.router,
    broadcasts.router,
    catalog.router,
    alerts.router,
    backups.router,
    staff.router,
    apikeys.router,
]
