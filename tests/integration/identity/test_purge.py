"""The periodic purge on a real database: every kind of expiring record is deleted once dead, and kept while it
can still change an answer; failure streaks are never purged by time."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, insert, select

from kairos.identity.purge import NONCE_MEMORY, Purger
from kairos.identity.sessions import IDLE_TIMEOUT
from kairos.identity.sign_in_flow import DEVICE_COOKIE_LIFETIME
from kairos.identity.tables import (
    access_tokens,
    account_tokens,
    address_budgets,
    authorization_codes,
    browser_sessions,
    failure_streaks,
    known_devices,
    passkey_challenges,
    pending_consents,
    refresh_tokens,
    sign_in_attempts,
    users,
)
from kairos.identity.throttle import ATTEMPT_LEASE
from tests.integration.identity.conftest import Provider

pytestmark = pytest.mark.integration


def _key() -> bytes:
    return secrets.token_bytes(32)


def browser_session(user_id: uuid.UUID, now: datetime, **times: datetime | None) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "secret_hash": _key(),
        "user_id": user_id,
        "created_at": now - timedelta(hours=1),
        "last_seen_at": now,
        "expires_at": now + timedelta(hours=1),
        **times,
    }


def refresh_token(user_id: uuid.UUID, session_id: uuid.UUID | None, expires_at: datetime) -> dict[str, Any]:
    return {
        "token_hash": _key(),
        "family_id": uuid.uuid4(),
        "client_id": "third-party",
        "user_id": user_id,
        "session_id": session_id,
        "scope": "openid offline_access",
        "issued_at": expires_at - timedelta(days=1),
        "expires_at": expires_at,
    }


async def present(provider: Provider, table: Table, row: dict[str, Any]) -> bool:
    (key,) = table.primary_key.columns
    async with provider.runtime.sessionmaker() as session:
        return await session.scalar(select(key).where(key == row[key.name])) is not None


async def test_dead_records_are_purged_and_live_ones_kept(provider: Provider) -> None:
    # Taken when the test runs, not when the module is imported: the whole suite may take longer than the lease.
    NOW = datetime.now(UTC)  # noqa: N806
    PAST, FUTURE = NOW - timedelta(minutes=1), NOW + timedelta(hours=1)  # noqa: N806
    async with provider.runtime.sessionmaker() as session:
        user_id = await session.scalar(select(users.c.id).limit(1))  # any account: the demo's
    assert user_id is not None
    live_session = browser_session(user_id, NOW)
    sessions = {
        "live": live_session,
        "signed out": browser_session(user_id, NOW, revoked_at=PAST),
        "idle": browser_session(user_id, NOW, last_seen_at=NOW - IDLE_TIMEOUT - timedelta(seconds=1)),
        "past its end": browser_session(user_id, NOW, expires_at=PAST),
        "idle, an application's offline access in it": browser_session(user_id, NOW, last_seen_at=PAST - IDLE_TIMEOUT),
    }
    offline = sessions["idle, an application's offline access in it"]
    consent: Callable[[datetime], dict[str, Any]] = lambda expires_at: {  # noqa: E731
        "ticket_hash": _key(),
        "session_id": live_session["id"],
        "user_id": user_id,
        "client_id": "third-party",
        "scopes": ["openid"],
        "authorization_query": "response_type=code",
        "created_at": expires_at - timedelta(minutes=10),
        "expires_at": expires_at,
    }
    link: Callable[[datetime], dict[str, Any]] = lambda expires_at: {  # noqa: E731
        "token_hash": _key(),
        "user_id": user_id,
        "purpose": "reset_password",
        "created_at": expires_at - timedelta(minutes=30),
        "expires_at": expires_at,
    }
    code: Callable[[datetime], dict[str, Any]] = lambda expires_at: {  # noqa: E731
        "code_hash": _key(),
        "client_id": "web",
        "user_id": user_id,
        "redirect_uri": "http://127.0.0.1:9/callback",
        "scope": "openid",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
        "auth_time": expires_at,
        "expires_at": expires_at,
    }
    challenge: Callable[[datetime], dict[str, Any]] = lambda expires_at: {  # noqa: E731
        "id": uuid.uuid4(),
        "purpose": "authenticate",
        "challenge": _key(),
        "expires_at": expires_at,
    }
    access: Callable[[datetime], dict[str, Any]] = lambda expires_at: {  # noqa: E731
        "jti": secrets.token_hex(16),
        "client_id": "web",
        "scope": "",
        "issued_at": expires_at - timedelta(minutes=10),
        "expires_at": expires_at,
    }
    attempt: Callable[[datetime], dict[str, Any]] = lambda started_at: {  # noqa: E731
        "id": uuid.uuid4(),
        "subject": f"password:{uuid.uuid4().hex}",
        "network": "192.0.2.1",
        "started_at": started_at,
    }
    device: Callable[[datetime], dict[str, Any]] = lambda seen: {  # noqa: E731
        "id": uuid.uuid4(),
        "user_id": user_id,
        "secret_hash": _key(),
        "created_at": seen,
        "last_signed_in_at": seen,
    }
    # (table, row, kept)
    cases: list[tuple[Table, dict[str, Any], bool]] = [
        *[
            (browser_sessions, row, name in {"live", "idle, an application's offline access in it"})
            for name, row in sessions.items()
        ],
        (refresh_tokens, refresh_token(user_id, offline["id"], FUTURE), True),
        (refresh_tokens, refresh_token(user_id, None, PAST), False),
        (pending_consents, consent(PAST), False),
        (pending_consents, consent(FUTURE), True),
        (account_tokens, link(PAST), False),
        (account_tokens, link(FUTURE), True),
        (authorization_codes, code(PAST - NONCE_MEMORY), False),
        (authorization_codes, code(PAST), True),  # its nonce still remembered
        (passkey_challenges, challenge(PAST), False),
        (passkey_challenges, challenge(FUTURE), True),
        (access_tokens, access(PAST), False),
        (access_tokens, access(FUTURE), True),
        (sign_in_attempts, attempt(PAST - ATTEMPT_LEASE), False),
        (sign_in_attempts, attempt(NOW), True),
        (address_budgets, {"network": "192.0.2.2", "drained_at": PAST}, False),
        (address_budgets, {"network": "192.0.2.3", "drained_at": FUTURE}, True),
        (known_devices, device(PAST - DEVICE_COOKIE_LIFETIME), False),
        (known_devices, device(PAST), True),
        (
            failure_streaks,
            {"subject": f"password:{uuid.uuid4().hex}", "failures": 3, "last_failed_at": NOW - timedelta(days=400)},
            True,
        ),
    ]
    async with provider.runtime.sessionmaker() as session, session.begin():
        for table, row, _ in cases:
            await session.execute(insert(table).values(**row))

    purged = await Purger(provider.runtime).purge_once()

    for table, row, kept in cases:
        assert await present(provider, table, row) is kept, (table.name, row)
    assert purged.counts["browser_sessions"] >= 3
    assert (await Purger(provider.runtime).purge_once()).total == 0  # nothing dead is left
