"""The periodic purge of identity's records that expire and would otherwise pile up: consent pages never answered,
used or expired account links, authorization codes, tokens and browser sessions past their life, ceremonies and
sign-in attempts left behind, drained address budgets, devices not seen for the device cookie's lifetime.

Every instance runs it (hourly); rows are taken in batches with ``SKIP LOCKED``, so instances share the work and
never wait on each other or on the requests using a row. What is deleted is dead already: each rule below is the
condition under which the row can no longer change any answer.

Kept on purpose: failure streaks (``failure_streaks``). Time alone must never lift the throttle's hard limit, or
an attacker could exceed 100 consecutive failures by pacing the guesses (``kairos.identity.domain.throttling``);
streaks end with a correct password or a reset.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, Table, and_, delete, exists, or_, select

from kairos.identity.sessions import IDLE_TIMEOUT
from kairos.identity.sign_in_flow import DEVICE_COOKIE_LIFETIME
from kairos.identity.tables import (
    access_tokens,
    account_tokens,
    address_budgets,
    authorization_codes,
    browser_sessions,
    federation_attempts,
    known_devices,
    passkey_challenges,
    pending_consents,
    refresh_tokens,
    sign_in_attempts,
)
from kairos.identity.throttle import ATTEMPT_LEASE
from kairos.platform.aio import cancel_and_wait
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.runtime import ServiceRuntime

log = structlog.get_logger(__name__)

PURGE_INTERVAL_SECONDS = 3600.0
BATCH = 1000  # rows a statement deletes: short transactions, whatever has piled up
# Authlib refuses an authorization request reusing a nonce of the client's stored codes; codes are kept that
# long after they expired, so a nonce cannot come back within a day.
NONCE_MEMORY = timedelta(days=1)


def _rules(now: datetime) -> list[tuple[str, Table, ColumnElement[bool]]]:
    live_refresh_token = exists().where(
        refresh_tokens.c.session_id == browser_sessions.c.id,
        refresh_tokens.c.revoked_at.is_(None),
        refresh_tokens.c.rotated_at.is_(None),
        refresh_tokens.c.expires_at > now,
    )
    return [
        ("pending_consents", pending_consents, pending_consents.c.expires_at <= now),
        ("account_tokens", account_tokens, account_tokens.c.expires_at <= now),
        ("authorization_codes", authorization_codes, authorization_codes.c.expires_at <= now - NONCE_MEMORY),
        ("passkey_challenges", passkey_challenges, passkey_challenges.c.expires_at <= now),
        ("federation_attempts", federation_attempts, federation_attempts.c.expires_at <= now),
        ("access_tokens", access_tokens, access_tokens.c.expires_at <= now),
        ("refresh_tokens", refresh_tokens, refresh_tokens.c.expires_at <= now),
        # A session ends when signed out or timed out; one is kept while an application allowed offline access
        # holds a live refresh token from it, so that the person sees it in their sessions and can end it.
        (
            "browser_sessions",
            browser_sessions,
            and_(
                or_(
                    browser_sessions.c.revoked_at.is_not(None),
                    browser_sessions.c.expires_at <= now,
                    browser_sessions.c.last_seen_at <= now - IDLE_TIMEOUT,
                ),
                ~live_refresh_token,
            ),
        ),
        ("sign_in_attempts", sign_in_attempts, sign_in_attempts.c.started_at <= now - ATTEMPT_LEASE),
        ("address_budgets", address_budgets, address_budgets.c.drained_at <= now),  # no debt left: as no row
        ("known_devices", known_devices, known_devices.c.last_signed_in_at <= now - DEVICE_COOKIE_LIFETIME),
    ]


@dataclass(frozen=True)
class Purged:
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def purge_expired(*, uow: UnitOfWork) -> Purged:
    """Delete every record dead at the unit of work's clock's now, a batch per transaction."""
    now = uow.clock.now()
    counts: dict[str, int] = {}
    for name, table, dead in _rules(now):
        (key,) = table.primary_key.columns  # every purged table has a one-column key
        counts[name] = 0
        while True:
            async with uow:
                batch = select(key).where(dead).limit(BATCH).with_for_update(skip_locked=True)
                deleted = (await uow.session.execute(delete(table).where(key.in_(batch.scalar_subquery())))).rowcount  # type: ignore[attr-defined]
                await uow.commit()
            counts[name] += deleted
            if deleted < BATCH:
                break
    return Purged(counts)


class Purger:
    """Runs ``purge_expired`` from the service's start to its stop."""

    def __init__(self, runtime: ServiceRuntime, *, interval: float = PURGE_INTERVAL_SECONDS) -> None:
        self._runtime = runtime
        self._interval = interval
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run(), name="identity-purge"))

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()

    async def purge_once(self) -> Purged:
        purged = await purge_expired(uow=self._runtime.unit_of_work())
        if purged.total:
            log.info("identity.expired_records_purged", **{name: n for name, n in purged.counts.items() if n})
        return purged

    async def _run(self) -> None:
        while True:
            # A failed round (database away) is tried again at the next one; the loop must outlive it.
            with contextlib.suppress(Exception):
                await self.purge_once()
            await asyncio.sleep(self._interval)
