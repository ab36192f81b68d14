"""The tasks' way to their process's runtime (`WorkerApp.runtime`, built once per process)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from workers.celery_app import app
from workers.runtime import WorkerRuntime


def runtime() -> WorkerRuntime:
    return app.runtime


def engine() -> Engine:
    return app.runtime.engine


def sessions() -> sessionmaker[Session]:
    return app.runtime.sessions


def deps() -> Deps:
    return app.runtime.deps
