"""Browser sessions at the identity service: opened by signing in, ended by signing out or timing out.

The cookie holds ``<session id>.<secret>``; the database keeps a SHA-256 digest of the secret only.
Idle and absolute timeouts follow NIST SP 800-63B-4 §2.2.3 (AAL2: re-authenticate after 30 minutes of
inactivity and at least every 24 hours; Kairos uses 12).

Signing in is throttled (``kairos.identity.throttle``). A session opened by a password alone may still owe a
step (``pending_step``: a second-factor code, or enrolling one when the user's role requires it); until the
step is done it lives ``PENDING_TIMEOUT`` at most and the authorization endpoint sends it to that step.
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
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.identity.domain.mfa import SignInStep, next_step
from kairos.identity.domain.throttling import ThrottlePolicy
from kairos.identity.mfa import AMR_PASSWORD, Authenticators
from kairos.identity.passwords import PasswordHasher
from kairos.identity.repository import email_lookup, sealed_user_agent
from kairos.identity.tables import browser_sessions, passkeys, users
from kairos.identity.throttle import SignInThrottle, known_device, remember_device
from kairos.platform.clock import Clock
from kairos.platform.ids import new_id
from kairos.platform.runtime import ServiceRuntime

SESSION_COOKIE = "kairos_session"
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
PENDING_TIMEOUT = timedelta(minutes=15)  # to type a code, or to set up an authenticator app


class SignInFailed(Exception):
    """Wrong e-mail or password; deliberately one error for both (no account enumeration)."""


class EmailNotVerified(Exception):
    """The password is right but the account's e-mail address is not confirmed yet: no session is opened.

    Raised only after the password was verified, so it tells nothing to someone who does not know it."""


@dataclass(frozen=True)
class BrowserSession:
    id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    methods: tuple[str, ...] = (AMR_PASSWORD,)  # RFC 8176 authentication methods done
    pending_step: SignInStep | None = None  # what is still owed before the session may be used

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class OpenedSession:
    session: BrowserSession
    cookie: str
    device_cookie: str | None = None  # set when this browser became a known device of the account


async def _has_passkey(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """A passkey is a second factor as a TOTP app is: the sign-in then owes the code step, where either does."""
    found = await session.scalar(select(passkeys.c.user_id).where(passkeys.c.user_id == user_id).limit(1))
    return found is not None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class Sessions:
    def __init__(self, runtime: ServiceRuntime, hasher: PasswordHasher) -> None:
        self._runtime = runtime
        self._hasher = hasher

    async def sign_in(
        self,
        *,
        email: str,
        password: str,
        user_agent: str,
        address: str,
        device_cookie: str,
        policy: ThrottlePolicy,
        clock: Clock,
    ) -> OpenedSession:
        """Check a password, throttled; raises ``SignInThrottled`` (not checked) or ``SignInFailed``.

        Three steps, so that no lock and no connection is held while argon2id runs (``kairos.identity.throttle``):
        the attempt let through, the password verified, the outcome recorded (and the session opened)."""
        async with self._runtime.unit_of_work() as uow:
            lookup = await email_lookup(uow.cipher, email)
            row = (
                await uow.session.execute(
                    select(users.c.id, users.c.password_hash, users.c.email_verified_at).where(
                        users.c.email_lookup == lookup,
                        users.c.disabled_at.is_(None),
                    )
                )
            ).first()
            device = None if row is None else await known_device(uow.session, cookie=device_cookie, user_id=row.id)
            at = clock.now()
            attempt = await SignInThrottle(uow.session, policy).reserve_password_attempt(
                account=lookup, address=address, device=device, at=at
            )
            await uow.commit()
        if row is None or row.password_hash is None:
            # Hash anyway, so that timing does not tell which accounts exist (ASVS V6.3).
            await self._hasher.verify_unknown_account_async(password)
            verified = False
        else:
            verified = await self._hasher.verify_async(row.password_hash, password)
        rehashed = None
        if verified and row is not None and row.password_hash and self._hasher.needs_rehash(row.password_hash):
            rehashed = await self._hasher.hash_async(password)
        async with self._runtime.unit_of_work() as uow:
            # The outcome is recorded last in each branch: the throttle's locks are then held only until the commit.
            throttle = SignInThrottle(uow.session, policy)
            if not verified or row is None:
                await throttle.password_failed(attempt)
                await uow.commit()
                raise SignInFailed
            if row.email_verified_at is None:
                await throttle.password_succeeded(attempt)
                await uow.commit()
                raise EmailNotVerified
            if rehashed is not None:
                await uow.session.execute(update(users).where(users.c.id == row.id).values(password_hash=rehashed))
            new_device_cookie = await remember_device(uow.session, device=device, user_id=row.id, at=at)
            authenticators = Authenticators(uow.session, self._runtime.cipher)
            step = next_step(
                requires_mfa=await authenticators.requires_mfa(row.id),
                has_totp=await authenticators.has_totp(row.id) or await _has_passkey(uow.session, row.id),
            )
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
                    expires_at=now + (ABSOLUTE_TIMEOUT if step is None else PENDING_TIMEOUT),
                    user_agent=await sealed_user_agent(uow.cipher, session_id, user_agent),
                    methods=[AMR_PASSWORD],
                    pending_step=step,
                )
            )
            await throttle.password_succeeded(attempt)
            await uow.commit()
        opened = BrowserSession(session_id, row.id, now, (AMR_PASSWORD,), step)
        return OpenedSession(opened, f"{session_id}.{secret}", new_device_cookie)

    async def open_proven(
        self, *, user_id: uuid.UUID, methods: tuple[str, ...], has_second_factor: bool, user_agent: str
    ) -> OpenedSession:
        """A session for an account proven by something other than its password (an organisation's identity
        provider, a passkey): ``methods`` as RFC 8176 names them; ``has_second_factor`` when they count as two
        factors already, else the account's second factor is still owed as after a password."""
        async with self._runtime.unit_of_work() as uow:
            authenticators = Authenticators(uow.session, self._runtime.cipher)
            step = (
                None
                if has_second_factor
                else next_step(
                    requires_mfa=await authenticators.requires_mfa(user_id),
                    has_totp=await authenticators.has_totp(user_id) or await _has_passkey(uow.session, user_id),
                )
            )
            now = datetime.now(UTC)
            secret = secrets.token_urlsafe(32)
            session_id = new_id()
            await uow.session.execute(
                insert(browser_sessions).values(
                    id=session_id,
                    secret_hash=_digest(secret),
                    user_id=user_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + (ABSOLUTE_TIMEOUT if step is None else PENDING_TIMEOUT),
                    user_agent=await sealed_user_agent(uow.cipher, session_id, user_agent),
                    methods=list(methods),
                    pending_step=step,
                )
            )
            await uow.commit()
        opened = BrowserSession(session_id, user_id, now, methods, step)
        return OpenedSession(opened, f"{session_id}.{secret}")

    async def complete_step(self, session: BrowserSession, *, method: str) -> str:
        """The owed step is done: record its method, give the session its full lifetime and a new secret (a
        session token is renewed when its authentication changes, ASVS 5.0 V7.2.4); the new cookie value."""
        secret = secrets.token_urlsafe(32)
        methods = [*session.methods, *([method] if method not in session.methods else [])]
        async with self._runtime.unit_of_work() as uow:
            await uow.session.execute(
                update(browser_sessions)
                .where(browser_sessions.c.id == session.id, browser_sessions.c.pending_step.is_not(None))
                .values(
                    secret_hash=_digest(secret),
                    methods=methods,
                    pending_step=None,
                    expires_at=session.created_at + ABSOLUTE_TIMEOUT,
                )
            )
            await uow.commit()
        return f"{session.id}.{secret}"

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
        step = SignInStep(row["pending_step"]) if row["pending_step"] else None
        return BrowserSession(row["id"], row["user_id"], row["created_at"], tuple(row["methods"]), step)

    async def end(self, session: BrowserSession) -> None:
        async with self._runtime.unit_of_work() as uow:
            await uow.session.execute(
                update(browser_sessions).where(browser_sessions.c.id == session.id).values(revoked_at=datetime.now(UTC))
            )
            await uow.commit()
