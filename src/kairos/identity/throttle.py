"""Sign-in throttling, wired: the counters of ``kairos.identity.domain.throttling`` kept in identity's database.

An attempt first takes transaction-scoped advisory locks on its network and then its account (always in
that order, so two attempts never wait on each other in a circle), reads the counters, asks the domain,
and writes the outcome in the same transaction: parallel guesses are judged one after another, never all
against the same old counters.

Account streaks are kept under a digest of the e-mail address typed (``account_key``), whether or not it
names an account, so a refusal never tells whether an account exists. At ``failure_limit`` consecutive
failures password sign-in stays refused until ``clear_password_failures`` is called: the password reset flow
(``kairos.identity.accounts.reset_password``) calls it when it stores the new password (800-63B-4 §3.2.2).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.identity.domain.throttling import (
    AddressBudget,
    FailureStreak,
    Refused,
    SignInCounters,
    ThrottlePolicy,
    account_key,
    address_key,
    check_codes,
)
from kairos.identity.tables import address_budgets, failure_streaks, known_devices
from kairos.platform.ids import new_id

log = structlog.get_logger(__name__)

DEVICE_COOKIE = "kairos_device"


class SignInThrottled(Exception):
    """The attempt was not checked: too many failures (``refusal.until`` is None when only a reset lifts it)."""

    def __init__(self, refusal: Refused) -> None:
        super().__init__(refusal.reason.value)
        self.refusal = refusal


def password_subject(email: str) -> str:
    return f"password:{account_key(email)}"


def code_subject(user_id: uuid.UUID) -> str:
    return f"code:{user_id}"


@dataclass(frozen=True)
class KnownDevice:
    id: uuid.UUID
    streak: FailureStreak


@dataclass(frozen=True)
class PasswordAttempt:
    """One password attempt's counters, read under lock: record its outcome in the same transaction."""

    subject: str
    network: str
    device: KnownDevice | None
    counters: SignInCounters


class SignInThrottle:
    def __init__(self, session: AsyncSession, policy: ThrottlePolicy) -> None:
        self._session = session
        self.policy = policy

    # --- passwords ---------------------------------------------------------------------------------------

    async def password_attempt(
        self, *, email: str, address: str, device: KnownDevice | None, at: datetime
    ) -> PasswordAttempt:
        """Lock and read the counters; raise ``SignInThrottled`` unless the password may be checked now. The locks
        hold until the transaction ends: record the outcome in it."""
        subject, network = password_subject(email), address_key(address)
        await self._lock(f"network:{network}")
        await self._lock(subject)
        drained_at = await self._session.scalar(
            select(address_budgets.c.drained_at).where(address_budgets.c.network == network)
        )
        attempt = PasswordAttempt(
            subject=subject,
            network=network,
            device=device,
            counters=SignInCounters(
                account=await self._streak(subject),
                address=AddressBudget(drained_at),
                device=None if device is None else device.streak,
            ),
        )
        decision = attempt.counters.check(at=at, policy=self.policy)
        if isinstance(decision, Refused):
            log.info("identity.sign_in_throttled", reason=decision.reason.value)
            raise SignInThrottled(decision)
        return attempt

    async def password_failed(self, attempt: PasswordAttempt, *, at: datetime) -> None:
        after = attempt.counters.after_failure(at=at, policy=self.policy)
        await self._save_streak(attempt.subject, after.account)
        if after.account.failures == self.policy.failure_limit:
            log.warning("identity.password_disabled", failures=after.account.failures)
        if after.address != attempt.counters.address and after.address.drained_at is not None:
            await self._session.execute(
                insert(address_budgets)
                .values(network=attempt.network, drained_at=after.address.drained_at)
                .on_conflict_do_update(index_elements=["network"], set_={"drained_at": after.address.drained_at})
            )
        if attempt.device is not None and after.device is not None:
            await self._session.execute(
                update(known_devices)
                .where(known_devices.c.id == attempt.device.id)
                .values(failures=after.device.failures, last_failed_at=after.device.last_failed_at)
            )

    async def password_succeeded(self, attempt: PasswordAttempt) -> None:
        """The streaks end (the address keeps its debt: a correct password does not pay for other guesses)."""
        await self._session.execute(delete(failure_streaks).where(failure_streaks.c.subject == attempt.subject))
        if attempt.device is not None:
            await self._session.execute(
                update(known_devices)
                .where(known_devices.c.id == attempt.device.id)
                .values(failures=0, last_failed_at=None)
            )

    # --- second-factor codes -------------------------------------------------------------------------------

    async def code_attempt(self, user_id: uuid.UUID, *, at: datetime) -> FailureStreak:
        """The user's streak of wrong codes, under lock; ``SignInThrottled`` if a code may not be checked now."""
        subject = code_subject(user_id)
        await self._lock(subject)
        streak = await self._streak(subject)
        decision = check_codes(streak, at=at, policy=self.policy)
        if isinstance(decision, Refused):
            log.info("identity.second_factor_throttled", reason=decision.reason.value, user_id=str(user_id))
            raise SignInThrottled(decision)
        return streak

    async def code_failed(self, user_id: uuid.UUID, streak: FailureStreak, *, at: datetime) -> None:
        await self._save_streak(code_subject(user_id), streak.after_failure(at=at))

    async def code_succeeded(self, user_id: uuid.UUID) -> None:
        await self._session.execute(delete(failure_streaks).where(failure_streaks.c.subject == code_subject(user_id)))

    # --- the reset hook ------------------------------------------------------------------------------------

    async def clear_password_failures(self, *, email: str) -> None:
        """For the password reset flow, once the new password is stored: lifts the hard limit (§3.2.2)."""
        await self._session.execute(delete(failure_streaks).where(failure_streaks.c.subject == password_subject(email)))

    # --- helpers -------------------------------------------------------------------------------------------

    async def _lock(self, key: str) -> None:
        await self._session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))

    async def _streak(self, subject: str) -> FailureStreak:
        row = (
            await self._session.execute(
                select(failure_streaks.c.failures, failure_streaks.c.last_failed_at).where(
                    failure_streaks.c.subject == subject
                )
            )
        ).first()
        return FailureStreak() if row is None else FailureStreak(row.failures, row.last_failed_at)

    async def _save_streak(self, subject: str, streak: FailureStreak) -> None:
        values = {"failures": streak.failures, "last_failed_at": streak.last_failed_at}
        await self._session.execute(
            insert(failure_streaks)
            .values(subject=subject, **values)
            .on_conflict_do_update(index_elements=["subject"], set_=values)
        )


# --- known devices --------------------------------------------------------------------------------------------


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def known_device(session: AsyncSession, *, cookie: str, user_id: uuid.UUID) -> KnownDevice | None:
    """The device the cookie names, if it has signed in to this account before."""
    device_id, _, secret = cookie.partition(".")
    try:
        parsed = uuid.UUID(device_id)
    except ValueError:
        return None
    row = (
        (
            await session.execute(
                select(known_devices).where(known_devices.c.id == parsed, known_devices.c.user_id == user_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None or not hmac.compare_digest(row["secret_hash"], _digest(secret)):
        return None
    return KnownDevice(row["id"], FailureStreak(row["failures"], row["last_failed_at"]))


async def remember_device(
    session: AsyncSession, *, device: KnownDevice | None, user_id: uuid.UUID, at: datetime
) -> str | None:
    """After a correct password: the known device's sign-in time, or a new device and its cookie value."""
    if device is not None:
        await session.execute(update(known_devices).where(known_devices.c.id == device.id).values(last_signed_in_at=at))
        return None
    device_id, secret = new_id(), secrets.token_urlsafe(32)
    await session.execute(
        insert(known_devices).values(
            id=device_id, user_id=user_id, secret_hash=_digest(secret), created_at=at, last_signed_in_at=at
        )
    )
    return f"{device_id}.{secret}"
