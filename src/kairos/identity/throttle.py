"""Sign-in throttling, wired: the counters of ``kairos.identity.domain.throttling`` kept in identity's database.

A password attempt is three steps, so that no lock is held while argon2id runs:

1. ``reserve_password_attempt``, one short transaction: transaction-scoped advisory locks on the network and
   then the account (always in that order, so two attempts never wait on each other in a circle), the
   counters and the attempts in flight read, the domain asked — every attempt in flight counted as a failure —
   and, when allowed, the attempt recorded in flight (``sign_in_attempts``).
2. The password verified, with no transaction open.
3. ``password_failed`` or ``password_succeeded``, one short transaction under the same locks: the attempt
   taken out of flight and its outcome applied to the counters as they are then.

Parallel guesses are thus judged as strictly as one after another (never all against the same old counters),
while sign-ins from one network no longer wait for each other's hashes. An attempt whose outcome is never
recorded (the process stopped while checking it) counts in flight for ``ATTEMPT_LEASE``, then no more; it was
never answered, so it told its sender nothing. The periodic purge (``kairos.identity.purge``) removes it.

Account streaks are kept under the keyed lookup hash of the e-mail address typed
(``kairos.identity.repository.email_lookup``), whether or not it names an account, so a refusal never tells
whether an account exists, and a stolen database cannot be matched against a list of addresses. At
``failure_limit`` consecutive failures password sign-in stays refused until ``clear_password_failures`` is
called: the password reset flow (``kairos.identity.accounts.reset_password``) calls it when it stores the new
password (800-63B-4 §3.2.2).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, delete, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.identity.domain.throttling import (
    AddressBudget,
    FailureStreak,
    InFlight,
    Refused,
    SignInCounters,
    ThrottlePolicy,
    address_key,
    check_codes,
)
from kairos.identity.tables import address_budgets, failure_streaks, known_devices, sign_in_attempts
from kairos.platform.ids import new_id

log = structlog.get_logger(__name__)

DEVICE_COOKIE = "kairos_device"
ATTEMPT_LEASE = timedelta(minutes=1)  # an argon2id check takes well under a second; a minute is a dead process


class SignInThrottled(Exception):
    """The attempt was not checked: too many failures (``refusal.until`` is None when only a reset lifts it)."""

    def __init__(self, refusal: Refused) -> None:
        super().__init__(refusal.reason.value)
        self.refusal = refusal


def password_subject(account: bytes) -> str:
    """The streak key of an address: ``account`` is its keyed lookup hash (``repository.email_lookup``)."""
    return f"password:{account.hex()}"


def code_subject(user_id: uuid.UUID) -> str:
    return f"code:{user_id}"


@dataclass(frozen=True)
class KnownDevice:
    id: uuid.UUID
    streak: FailureStreak


@dataclass(frozen=True)
class PasswordAttempt:
    """A password attempt let through and in flight: record its outcome with ``password_failed`` or
    ``password_succeeded`` once the password is checked."""

    id: uuid.UUID
    subject: str
    network: str
    device_id: uuid.UUID | None
    at: datetime


class SignInThrottle:
    def __init__(self, session: AsyncSession, policy: ThrottlePolicy) -> None:
        self._session = session
        self.policy = policy

    # --- passwords ---------------------------------------------------------------------------------------

    async def reserve_password_attempt(
        self, *, account: bytes, address: str, device: KnownDevice | None, at: datetime
    ) -> PasswordAttempt:
        """Raise ``SignInThrottled`` unless the password may be checked now; else record the attempt in flight.
        Commit right after: the locks taken here hold until the transaction ends (three statements)."""
        subject, network = password_subject(account), address_key(address)
        device_id = None if device is None else device.id
        await self._lock_attempts_of(network, subject)
        counters, in_flight = await self._read(subject, network, device_id, in_flight_since=at - ATTEMPT_LEASE)
        decision = counters.check(at=at, policy=self.policy, in_flight=in_flight)
        if isinstance(decision, Refused):
            log.info("identity.sign_in_throttled", reason=decision.reason.value)
            raise SignInThrottled(decision)
        attempt = PasswordAttempt(new_id(), subject, network, device_id, at)
        await self._session.execute(
            insert(sign_in_attempts).values(
                id=attempt.id, subject=subject, network=network, device_id=device_id, started_at=at
            )
        )
        return attempt

    async def password_failed(self, attempt: PasswordAttempt) -> None:
        """The password was wrong: the attempt leaves flight and counts against the account, the network (or the
        known device), at the time it was let through."""
        counters = await self._settle(attempt)
        after = counters.after_failure(at=attempt.at, policy=self.policy)
        await self._save_streak(attempt.subject, after.account)
        if after.account.failures == self.policy.failure_limit:
            log.warning("identity.password_disabled", failures=after.account.failures)
        if after.address != counters.address and after.address.drained_at is not None:
            await self._session.execute(
                insert(address_budgets)
                .values(network=attempt.network, drained_at=after.address.drained_at)
                .on_conflict_do_update(index_elements=["network"], set_={"drained_at": after.address.drained_at})
            )
        if attempt.device_id is not None and after.device is not None:
            await self._session.execute(
                update(known_devices)
                .where(known_devices.c.id == attempt.device_id)
                .values(failures=after.device.failures, last_failed_at=after.device.last_failed_at)
            )

    async def password_succeeded(self, attempt: PasswordAttempt) -> None:
        """The streaks end (the address keeps its debt: a correct password does not pay for other guesses)."""
        await self._lock_attempts_of(attempt.network, attempt.subject)
        await self._session.execute(delete(sign_in_attempts).where(sign_in_attempts.c.id == attempt.id))
        await self._session.execute(delete(failure_streaks).where(failure_streaks.c.subject == attempt.subject))
        if attempt.device_id is not None:
            await self._session.execute(
                update(known_devices)
                .where(known_devices.c.id == attempt.device_id)
                .values(failures=0, last_failed_at=None)
            )

    async def _settle(self, attempt: PasswordAttempt) -> SignInCounters:
        """Take the attempt out of flight, under the locks; the counters as they are now."""
        await self._lock_attempts_of(attempt.network, attempt.subject)
        await self._session.execute(delete(sign_in_attempts).where(sign_in_attempts.c.id == attempt.id))
        counters, _ = await self._read(attempt.subject, attempt.network, attempt.device_id, in_flight_since=None)
        return counters

    async def _read(
        self, subject: str, network: str, device_id: uuid.UUID | None, *, in_flight_since: datetime | None
    ) -> tuple[SignInCounters, InFlight]:
        """The counters, and the attempts in flight since ``in_flight_since``, in one statement (one snapshot, one
        round trip while the locks are held)."""
        streak = select(failure_streaks).where(failure_streaks.c.subject == subject).subquery()
        device = select(known_devices).where(known_devices.c.id == device_id).subquery()
        attempts = sign_in_attempts.c
        from_anywhere = attempts.device_id.is_(None)  # not from a known device: drawing on the network's budget
        from_device = attempts.device_id == device_id if device_id is not None else from_anywhere
        in_flight = (
            select(
                func.count().filter(attempts.subject == subject).label("account"),
                func.count().filter(and_(attempts.network == network, from_anywhere)).label("address"),
                func.count().filter(and_(attempts.subject == subject, from_device)).label("device"),
            )
            .where(
                or_(attempts.subject == subject, attempts.network == network),
                attempts.started_at > in_flight_since if in_flight_since is not None else false(),
            )
            .subquery()
        )
        row = (
            await self._session.execute(
                select(
                    select(address_budgets.c.drained_at)
                    .where(address_budgets.c.network == network)
                    .scalar_subquery()
                    .label("drained_at"),
                    select(streak.c.failures).scalar_subquery().label("failures"),
                    select(streak.c.last_failed_at).scalar_subquery().label("last_failed_at"),
                    select(device.c.failures).scalar_subquery().label("device_failures"),
                    select(device.c.last_failed_at).scalar_subquery().label("device_last_failed_at"),
                    in_flight.c.account,
                    in_flight.c.address,
                    in_flight.c.device,
                )
            )
        ).one()
        counters = SignInCounters(
            account=FailureStreak() if row.failures is None else FailureStreak(row.failures, row.last_failed_at),
            address=AddressBudget(row.drained_at),
            device=None if device_id is None else FailureStreak(row.device_failures or 0, row.device_last_failed_at),
        )
        waiting = InFlight(account=row.account, address=row.address, device=row.device if device_id else 0)
        return counters, waiting

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

    async def clear_password_failures(self, *, account: bytes) -> None:
        """For the password reset flow, once the new password is stored: lifts the hard limit (§3.2.2).
        ``account`` is the address's keyed lookup hash."""
        subject = password_subject(account)
        await self._session.execute(delete(failure_streaks).where(failure_streaks.c.subject == subject))

    # --- helpers -------------------------------------------------------------------------------------------

    async def _lock(self, key: str) -> None:
        await self._session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))

    async def _lock_attempts_of(self, network: str, subject: str) -> None:
        """The network's lock, then the account's, in one round trip (a select list is evaluated in order, and every
        caller uses this same statement, so two attempts never take them in opposite orders)."""
        await self._session.execute(
            select(
                func.pg_advisory_xact_lock(func.hashtextextended(f"network:{network}", 0)),
                func.pg_advisory_xact_lock(func.hashtextextended(subject, 0)),
            )
        )

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
