"""Every router of `/api/v1`, included by `api.app.create_app` in this order."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import apikeys, auth, knowledge, oauth, staff

ROUTERS: list[APIRouter] = [
    auth.router,
    oauth.router,
    staff.router,
    apikeys.router,
    knowledge.router,
]
