"""Storing and processing events: the logic behind the ingest and process tasks.

Each step is one `UnitOfWork` (`pipeline.unit_of_work`), opened here because a step may
have to be redone differently: a batch is stored and processed in one transaction, and
if a handler fails (or PostgreSQL refuses a row) that unit of work rolls back, with every
after-commit job registered in it, and the batch is redone isolated. Handlers register
their jobs through `HandlerContext.after_commit`; they join the batch's unit of work when
the handler's work is kept and run once it committed. What is left for the caller to do
after commit (retry messages, live updates) comes back as a `ProcessResult`.

Savepoints are the one exception to "a unit of work ends every transaction": the
isolated run gives each event its own savepoint, so that a failing handler rolls back
only its own writes and its own jobs while its neighbours' commit with the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from pipeline import metrics
from pipeline.correlation import correlation
from pipeline.deps import Deps
from pipeline.domain.context import Deferred
from pipeline.envelope import Envelope
from pipeline.events import repository
from pipeline.events.errors import PermanentError
from pipeline.events.handlers import Handler, HandlerContext, HandlerRegistry
from pipeline.events.storing import (
    BatchStore,
    event_row,
    ignored_row,
    is_row_problem,
    restore_payloads,
)
from pipeline.providers.registry import ProviderRegistry
from pipeline.retry import RetryPolicy
from pipeline.sentry import capture
from pipeline.storable import storable_json
from pipeline.unit_of_work import UnitOfWork, unit_of_work
from schema.events import TERMINAL_STATUSES, Event, EventStatus
from schema.operations import EventAttempt

__all__ = ["EventService", "IngestResult", "ProcessResult", "RetryPolicy"]


class _HandlerFailed(Exception):
    """A handler raised in a batch run without savepoints: redo the batch isolated."""


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    # Unfinished events only: `ingest` inserts those no handler takes as `ignored`.
    to_process: list[int] = field(default_factory=list)


@dataclass
class ProcessResult:
    processed: list[int] = field(default_factory=list)
    ignored: list[int] = field(default_factory=list)
    retry: list[tuple[int, float]] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    skipped: int = 0
    # (source, status, seconds from received to finished): metrics once committed.
    finished: list[tuple[str, str, float]] = field(default_factory=list)


class EventService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        providers: ProviderRegistry,
        handlers: HandlerRegistry,
        retry: RetryPolicy,
        on_dead: Callable[[Session, Event], None] | None = None,
        *,
        deps: Deps,
    ) -> None:
        self.sessions = sessions
        # The process's (its runtime's): handed to every handler and to every unit of work.
        self.deps = deps
        self.providers = providers
        self.handlers = handlers
        self.retry = retry
        self.on_dead = on_dead
        # Sources whose repeats are processed again (the worker re-fetches the object).
        self.recheck = frozenset(p.name for p in providers if getattr(p, "refetches", False))
        self.batches = BatchStore(sessions, deps, on_dead, self.recheck)

    def _parse(
        self, source: str, external_id: str, body: bytes, headers: dict[str, str]
    ) -> dict[str, Any] | None:
        """The provider's parsed payload, made storable; None when it cannot be parsed."""
        provider = self.providers.get(source)
        if provider is None:
            return None
        try:
            payload = storable_json(provider.payload(body, headers))
        except Exception as exc:  # stored anyway; processing will mark it dead
            logger.warning("payload of {} could not be parsed: {}", external_id, exc)
            return None
        return payload if isinstance(payload, dict) else None

    def _payload(self, envelope: Envelope) -> dict[str, Any] | None:
        return self._parse(envelope.provider, envelope.external_id, envelope.body, envelope.headers)

    def _reparse(self, event: Event, body: bytes) -> dict[str, Any] | None:
        return self._parse(event.source, event.external_id, body, event.headers or {})

    def _rows(
        self, envelopes: Sequence[Envelope], ignored_at: datetime | None = None
    ) -> list[dict[str, Any]]:
        """One row per key (repeats counted), sorted so concurrent inserts cannot deadlock.
        With `ignored_at`, a row no handler takes goes in finished: `ignored` at that time
        (before the payload check, as in `_process_one`)."""
        unique: dict[tuple[str, str], tuple[Envelope, int]] = {}
        for env in envelopes:
            key = (env.provider, env.external_id)
            first, repeats = unique.get(key, (env, -1))
            unique[key] = (first, repeats + 1)
        rows = [
            event_row(env, self._payload(env), repeats)
            for _, (env, repeats) in sorted(unique.items(), key=lambda item: item[0])
        ]
        if ignored_at is None:
            return rows
        # Looked up with the stored (bounded) source and type, as processing would.
        return [
            row if self.handlers.find(row["source"], row["type"]) else ignored_row(row, ignored_at)
            for row in rows
        ]

    @staticmethod
    def _ingest_result(received: int, stored: list[repository.StoredEvent]) -> IngestResult:
        result = IngestResult(stored=sum(s.inserted for s in stored))
        result.duplicates = received - result.stored
        result.to_process = [s.id for s in stored if s.status not in TERMINAL_STATUSES]
        return result

    def store(self, envelopes: Sequence[Envelope]) -> IngestResult:
        """Persist a batch once per key and commit; say which events need processing.

        Every event goes in `received`, one no handler takes included: its caller's
        `process` reports it ignored (and counts it), this returns no ProcessResult."""
        return self._ingest_result(len(envelopes), self.batches.store(self._rows(envelopes)))

    def ingest(self, envelopes: Sequence[Envelope]) -> tuple[IngestResult, ProcessResult]:
        """Store and process a batch, normally in a single transaction (one commit).

        If a handler fails, or PostgreSQL refuses a row, that transaction is rolled back;
        the batch is then stored on its own (split around refused rows, see BatchStore)
        and processed with a savepoint per event. Transient database failures propagate:
        the task retries the whole message, which is acknowledged only after this returns.
        The handlers' after-commit jobs have run when this returns: those of the attempt
        that committed, never those of a rolled-back one.
        """
        # Events no handler takes go in `ignored`, finished as they are stored: one row
        # version each, where processing them would update every one of them.
        now = datetime.now(UTC)
        rows = self._rows(envelopes, ignored_at=now)
        try:
            with unit_of_work(self.sessions, self.deps) as uow:
                rows_stored, locked = repository.store_locked(uow.session, rows, self.recheck)
                stored = self._ingest_result(len(envelopes), rows_stored)
                result = self._process_locked(uow, stored.to_process, isolated=False, locked=locked)
        except Exception as exc:
            if not isinstance(exc, _HandlerFailed) and not is_row_problem(exc):
                raise
            rows_stored = self.batches.store(rows)
            stored = self._ingest_result(len(envelopes), rows_stored)
            result = self._process_batch(stored.to_process, isolated=True)
        self._report_ignored_at_insert(rows_stored, now, result)
        self._observe(result)
        return stored, result

    @staticmethod
    def _report_ignored_at_insert(
        stored: Sequence[repository.StoredEvent], now: datetime, result: ProcessResult
    ) -> None:
        """The events this batch inserted as `ignored` are reported (ingest summary,
        metrics) as if processing had ignored them; a repeat of an ignored event is
        not inserted, so it only counts as a duplicate."""
        for event in stored:
            if event.inserted and event.status == EventStatus.IGNORED.value:
                result.ignored.append(event.id)
                latency = (now - event.received_at).total_seconds()
                result.finished.append((event.source, event.status, latency))
        result.ignored.sort()

    def process(self, ids: Sequence[int]) -> ProcessResult:
        """Run handlers for stored events in one transaction.

        The batch first runs without savepoints (one round trip less per event each way);
        if any handler raises, that transaction is rolled back and the batch runs again
        with a savepoint per event, so one failure cannot affect its neighbours.
        """
        if not ids:
            return ProcessResult()
        try:
            # A lone event gains nothing from the optimistic pass.
            result = self._process_batch(ids, isolated=len(ids) == 1)
        except _HandlerFailed:
            result = self._process_batch(ids, isolated=True)
        self._observe(result)
        return result

    @staticmethod
    def _observe(result: ProcessResult) -> None:
        """Log and count what was committed (a rolled-back pass counts nothing)."""
        for event_id in result.dead:
            logger.bind(event_id=event_id).error("event is dead")
        for source, status, latency in result.finished:
            metrics.EVENTS.labels(source, status).inc()
            if status == EventStatus.PROCESSED:
                metrics.EVENT_LATENCY.labels(source).observe(latency)
            elif status == EventStatus.FAILED:
                metrics.EVENT_RETRIES.labels(source).inc()
            elif status == EventStatus.DEAD:
                metrics.EVENTS_DEAD.labels(source).inc()

    def _process_batch(self, ids: Sequence[int], *, isolated: bool) -> ProcessResult:
        with unit_of_work(self.sessions, self.deps) as uow:
            return self._process_locked(uow, ids, isolated=isolated)

    def _process_locked(
        self,
        uow: UnitOfWork,
        ids: Sequence[int],
        *,
        isolated: bool,
        locked: list[Event] | None = None,
    ) -> ProcessResult:
        """`locked`: the events already locked and read by the caller (the ingest's
        upsert returns them); otherwise they are locked here, skipping others' rows."""
        result = ProcessResult()
        if not ids:
            return result
        session = uow.session
        events = repository.lock_unfinished(session, ids) if locked is None else locked
        result.skipped = len(ids) - len(events)
        # The rows stay locked; the objects are detached so that the handlers' many
        # autoflushes do not re-examine them. Their new state is written in one statement.
        for event in events:
            session.expunge(event)
        restore_payloads(session, events, self._reparse)
        now = datetime.now(UTC)
        # Without savepoints the domain's work is collected and applied set-wise below;
        # if that fails, the caller redoes the batch isolated, one event at a time.
        batch = None if isolated else Deferred()
        for event in events:
            with (
                logger.contextualize(
                    event_id=event.id, provider=event.source, correlation_id=event.request_id
                ),
                correlation(event.request_id),
            ):
                self._process_one(uow, event, now, result, batch)
        if batch is not None:
            try:
                batch.run(uow)
            except Exception as exc:
                raise _HandlerFailed from exc
        repository.write_outcomes(session, events)
        return result

    def _process_one(
        self,
        uow: UnitOfWork,
        event: Event,
        now: datetime,
        result: ProcessResult,
        batch: Deferred | None,
    ) -> None:
        event.attempts += 1
        handler = self.handlers.find(event.source, event.type)
        if handler is None:
            self._finish(event, EventStatus.IGNORED, now, result)
            result.ignored.append(event.id)
            return
        session = uow.session
        ctx = HandlerContext(uow=uow, event=event, payload=event.payload or {}, deferred=batch)
        if batch is not None:
            try:
                outcome = self._run(handler, ctx)
            except Exception as exc:
                raise _HandlerFailed from exc
        else:
            savepoint = session.begin_nested()
            try:
                outcome = self._run(handler, ctx)
                savepoint.commit()
            except (PermanentError, DataError) as exc:
                # DataError: PostgreSQL refused a value from the event (too long, out of
                # range); the same event will carry the same value next time.
                savepoint.rollback()
                capture(exc, event_id=event.id, provider=event.source, request_id=event.request_id)
                self._dead(session, event, f"permanent: {exc}", result)
                return
            except Exception as exc:
                savepoint.rollback()
                self._failed(session, event, exc, now, result)
                return
        status = outcome or EventStatus.PROCESSED
        self._finish(event, status, now, result)
        (result.ignored if status == EventStatus.IGNORED else result.processed).append(event.id)
        # Only here is the handler's work kept (a rolled-back savepoint returned above).
        ctx.keep_jobs()

    @staticmethod
    def _run(handler: Handler, ctx: HandlerContext) -> EventStatus | None:
        if ctx.event.payload is None:
            raise PermanentError("the body could not be parsed or stored (see raw_body)")
        return handler(ctx)

    @staticmethod
    def _finish(event: Event, status: EventStatus, now: datetime, result: ProcessResult) -> None:
        event.status = status.value
        event.processed_at = now
        event.next_attempt_at = None
        event.last_error = None
        latency = (now - event.received_at).total_seconds()
        result.finished.append((event.source, status.value, latency))

    @staticmethod
    def _attempt(session: Session, event: Event, outcome: str, error: str) -> None:
        """Keep the history of failed attempts beside the event (same transaction)."""
        session.add(
            EventAttempt(event_id=event.id, attempt=event.attempts, outcome=outcome, error=error)
        )

    def _failed(
        self, session: Session, event: Event, exc: Exception, now: datetime, result: ProcessResult
    ) -> None:
        error = self.deps.redactor.stored_error(f"{type(exc).__name__}: {exc}")
        capture(exc, event_id=event.id, provider=event.source, request_id=event.request_id)
        if self.retry.exhausted(event.attempts):
            self._dead(
                session,
                event,
                f"retries exhausted after {event.attempts} attempts: {error}",
                result,
            )
            return
        delay = self.retry.delay(event.attempts)
        event.status = EventStatus.FAILED.value
        event.last_error = error
        event.next_attempt_at = now + timedelta(seconds=delay)
        self._attempt(session, event, EventStatus.FAILED.value, error)
        result.retry.append((event.id, delay))
        result.finished.append((event.source, EventStatus.FAILED.value, 0.0))
        logger.warning("attempt {} failed, retry in {:.1f} s: {}", event.attempts, delay, error)

    def _dead(self, session: Session, event: Event, error: str, result: ProcessResult) -> None:
        event.status = EventStatus.DEAD.value
        event.last_error = self.deps.redactor.stored_error(error)
        event.next_attempt_at = None
        self._attempt(session, event, EventStatus.DEAD.value, event.last_error)
        result.dead.append(event.id)
        result.finished.append((event.source, EventStatus.DEAD.value, 0.0))
        if self.on_dead is not None:
            self.on_dead(session, event)

    def replay(self, event_id: int) -> bool:
        """Put an event back to `received` so the next process run handles it again."""
        with unit_of_work(self.sessions, self.deps) as uow:
            event = repository.reset_for_replay(uow.session, event_id)
        return event is not None
