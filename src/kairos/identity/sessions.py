"""Browser sessions at the identity service: opened by signing in, ended by signing out or timing out.

The cookie holds ``<session id>.<secret>``; the database keeps a SHA-256 digest of the secret only.
Idle and absolute timeouts follow NIST SP 800-63B-4 §2.2.3 (AAL2: re-authenticate after 30 minutes of
inactivity and at least every 24 hours; Kairos uses 12).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request
from sqlalchemy import insert, select, update

from kairos.identity.passwords import PasswordHasher
from kairos.identity.tables import browser_sessions, users
from kairos.platform.ids import new_id
from kairos.platform.runtime import ServiceRuntime

SESSION_COOKIE = "kairos_session"
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)


class SignInFailed(Exception):
    """Wrong e-mail or password; deliberately one error for both (no account enumeration)."""


@dataclass(frozen=True)
class BrowserSession:
    id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class OpenedSession:
    session: BrowserSession
    cookie: str


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class Sessions:
    def __init__(self, runtime: ServiceRuntime, hasher: PasswordHasher) -> None:
        self._runtime = runtime
        self._hasher = hasher

    async def sign_in(self, *, email: str, password: str, user_agent: str) -> OpenedSession:
        async with self._runtime.unit_of_work() as uow:
            row = (
                await uow.session.execute(
                    select(users.c.id, users.c.password_hash).where(
                        users.c.email == email.strip().lower(), users.c.disabled_at.is_(None)
                    )
                )
            ).first()
            if row is None or row.password_hash is None:
                # Hash anyway, so that timing does not tell which accounts exist (ASVS V6.3).
                await self._hasher.verify_unknown_account_async(password)
                raise SignInFailed
            if not await self._hasher.verify_async(row.password_hash, password):
                raise SignInFailed
            if self._hasher.needs_rehash(row.password_hash):
                rehashed = await self._hasher.hash_async(password)
                await uow.session.execute(update(users).where(users.c.id == row.id).values(password_hash=rehashed))
            now = datetime.now(UTC)
            secret = secrets.token_urlsafe(32)
            session_id = new_id()
            await uow.session.execute(
                insert(browser_sessions).values(
                    id=session_id,
                    secret_hash=_digest(secret),
                    user_id=row.id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + ABSOLUTE_TIMEOUT,
                    user_agent=user_agent[:500],
                )
            )
            await uow.commit()
        return OpenedSession(BrowserSession(session_id, row.id, now), f"{session_id}.{secret}")

    async def current(self, request: Request) -> BrowserSession | None:
        """The valid session the request's cookie names, its idle clock restarted; None otherwise."""
        cookie = request.cookies.get(SESSION_COOKIE, "")
        session_id, _, secret = cookie.partition(".")
        try:
            parsed = uuid.UUID(session_id)
        except ValueError:
            return None
        now = datetime.now(UTC)
        async with self._runtime.unit_of_work() as uow:
            row = (
                (
                    await uow.session.execute(
                        select(browser_sessions).where(
                            browser_sessions.c.id == parsed,
                            browser_sessions.c.revoked_at.is_(None),
                            browser_sessions.c.expires_at > now,
                            browser_sessions.c.last_seen_at > now - IDLE_TIMEOUT,
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None or not hmac.compare_digest(row["secret_hash"], _digest(secret)):
                return None
            await uow.session.execute(
                update(browser_sessions).where(browser_sessions.c.id == parsed).values(last_seen_at=now)
            )
            await uow.commit()
        return BrowserSession(row["id"], row["user_id"], row["created_at"])

    async def end(self, session: BrowserSession) -> None:
        async with self._runtime.unit_of_work() as uow:
            await uow.session.execute(
                update(browser_sessions).where(browser_sessions.c.id == session.id).values(revoked_at=datetime.now(UTC))
            )
            await uow.commit()
