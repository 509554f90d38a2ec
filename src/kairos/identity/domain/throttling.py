"""Throttling password guessing, per account, per known device and per network address.

NIST SP 800-63B-4 §3.2.2 requires that an account accept "no more than 100" consecutive failed attempts
with one authenticator, "by disabling that authenticator", and lists ways to keep an attacker from using
the limit to lock the owner out: waits that grow as the limit nears ("30 seconds up to an hour"), and
favouring sources the subscriber has signed in from before. ASVS 5.0 V6.1.1 and V6.3.1 ask for the
controls against credential stuffing and brute force, and against malicious lockout, to be documented;
this docstring is that documentation for passwords.

The rules, with the numbers of ``ThrottlePolicy()``:

- **Account streak.** Every failed password attempt on the account, from anywhere, adds to one streak;
  a correct password clears it. The first 5 failures cost nothing (typing mistakes). After the 6th the
  next attempt must wait 30 s, and the wait doubles with each further failure up to 1 hour.
- **Hard limit.** At 100 consecutive failures the password is disabled: every password attempt is
  refused, a correct one included, until the password is replaced, through the reset (account
  recovery) flow or by setting a new one after signing in with another factor (§3.2.2; a disabled
  authenticator must be bound anew, §4.1). A new password starts with ``FailureStreak()``.
- **Known devices.** A device that has signed in to this account before (it presents a device token
  issued at that sign-in) is exempt from the account's waits and from the address budget; it has its
  own streak, with the same free failures and waits. Its failures still count towards the hard limit.
- **Address budget.** Failures from one network address (an IPv6 /64, see ``address_key``) draw on a
  leaky bucket: 20 in a burst, then one more each minute. This slows one machine spraying guesses over
  many accounts; it does not apply to known devices, so a clinic's shared address is not blocked for
  staff on their own browsers.

Why an attacker cannot lock the owner out for good:

1. Waiting out the back-off, an attacker needs about 3.7 days of steady guessing to reach 100, and any
   sign-in by the owner in the meantime clears the streak and starts the count again.
2. While the attacker keeps the account waiting, the owner, on a device they have used before, is not
   made to wait: their sign-in goes through and clears the streak.
3. Time alone never lifts the hard limit (that would let an attacker exceed 100 consecutive failures
   simply by pacing the guesses), but the reset flow always does (and must be throttled in its turn).

**Attempts in flight.** A password is verified (argon2id, tens of milliseconds) with no lock held, so several
attempts on one account or from one network may be between their check and their outcome at once. Each is
judged as if all those let through before it had failed at the same moment (``InFlight``): whatever their
outcomes turn out to be, the counters never end beyond what judging the attempts one after another allows,
so the hard limit and the address budget stay exact under concurrent guessing.

The service keeps the same counters for sign-ins naming unknown accounts (keyed by the keyed hash accounts
are looked up by, of the identifier given), so that a refusal never reveals whether an account exists; it stores
them in ``kairos.identity.throttle``. Wrong second-factor codes follow the account streak's rules, per user
(``check_codes``). Times are aware datetimes taken from the service's clock; every function here is pure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

FAILURE_LIMIT = 100  # 800-63B-4 §3.2.2: "no more than 100"; a deployment may choose fewer


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 5
    first_wait: timedelta = timedelta(seconds=30)
    longest_wait: timedelta = timedelta(hours=1)
    failure_limit: int = FAILURE_LIMIT
    address_burst: int = 20
    address_refill: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        if not 0 < self.failure_limit <= FAILURE_LIMIT:
            raise ValueError("the failure limit shall be at most 100 (800-63B-4 §3.2.2)")
        if not 0 <= self.free_failures < self.failure_limit:
            raise ValueError("free failures must be fewer than the failure limit")
        if not timedelta(0) < self.first_wait <= self.longest_wait:
            raise ValueError("waits must be positive, the first no longer than the longest")
        if self.address_burst < 1 or self.address_refill <= timedelta(0):
            raise ValueError("an address must be allowed at least one failure, refilled after a positive time")

    def wait_after(self, failures: int) -> timedelta:
        """How long the next attempt waits after ``failures`` consecutive failures."""
        beyond_free = failures - self.free_failures
        if beyond_free <= 0:
            return timedelta(0)
        doublings = min(beyond_free - 1, 32)  # 2**32 waits of 30 s already exceed any sensible longest wait
        return min(self.longest_wait, self.first_wait * (1 << doublings))


@dataclass(frozen=True)
class FailureStreak:
    """Consecutive failed password attempts, on an account or from one known device."""

    failures: int = 0
    last_failed_at: datetime | None = None

    def after_failure(self, *, at: datetime) -> FailureStreak:
        _require_aware(at)
        last = at if self.last_failed_at is None else max(self.last_failed_at, at)
        return FailureStreak(failures=self.failures + 1, last_failed_at=last)

    def waits_until(self, policy: ThrottlePolicy) -> datetime | None:
        wait = policy.wait_after(self.failures)
        if self.last_failed_at is None or not wait:
            return None
        return self.last_failed_at + wait


@dataclass(frozen=True)
class AddressBudget:
    """Failed attempts from one address, as a leaky bucket (the generic cell rate algorithm).

    Each failure adds ``address_refill`` of debt, which drains in real time; ``drained_at`` is when the
    debt will be gone. An attempt is refused while the debt exceeds ``address_burst - 1`` refills, so in
    any span of time T at most ``address_burst + T / address_refill`` failures are let through.
    """

    drained_at: datetime | None = None

    def after_failure(self, *, at: datetime, policy: ThrottlePolicy) -> AddressBudget:
        _require_aware(at)
        start = at if self.drained_at is None else max(self.drained_at, at)
        return AddressBudget(drained_at=start + policy.address_refill)

    def waits_until(self, policy: ThrottlePolicy) -> datetime | None:
        if self.drained_at is None:
            return None
        return self.drained_at - (policy.address_burst - 1) * policy.address_refill


class RefusalReason(StrEnum):
    PASSWORD_DISABLED = "password_disabled"  # noqa: S105 (a reason code, not a secret)
    TOO_MANY_FAILURES_ON_ACCOUNT = "too_many_failures_on_account"
    TOO_MANY_FAILURES_ON_DEVICE = "too_many_failures_on_device"
    TOO_MANY_FAILURES_FROM_ADDRESS = "too_many_failures_from_address"
    CODES_DISABLED = "codes_disabled"
    TOO_MANY_WRONG_CODES = "too_many_wrong_codes"


@dataclass(frozen=True)
class Allowed:
    """The password may be checked now."""


@dataclass(frozen=True)
class Refused:
    """The password must not be checked now; ``until`` is None when only a new password lifts it."""

    reason: RefusalReason
    until: datetime | None


ALLOWED = Allowed()


@dataclass(frozen=True)
class InFlight:
    """Attempts let through and not yet decided: on the account (``account``), of those the ones drawing on this
    network's budget (``address``: not from a known device) and the ones from this attempt's known device."""

    account: int = 0
    address: int = 0
    device: int = 0

    def __post_init__(self) -> None:
        if min(self.account, self.address, self.device) < 0:
            raise ValueError("attempts in flight cannot be negative")


NOTHING_IN_FLIGHT = InFlight()


@dataclass(frozen=True)
class SignInCounters:
    """The counters one sign-in attempt is judged by; ``device`` is None for a device not known to the account."""

    account: FailureStreak
    address: AddressBudget
    device: FailureStreak | None = None

    def check(
        self, *, at: datetime, policy: ThrottlePolicy, in_flight: InFlight = NOTHING_IN_FLIGHT
    ) -> Allowed | Refused:
        """Whether a password attempt may be verified at ``at``; ask before verifying, not after. Attempts
        ``in_flight`` count as failures at ``at`` (the worst their outcomes can do)."""
        _require_aware(at)
        if in_flight != NOTHING_IN_FLIGHT:
            decision = self._assuming_failed(in_flight, at=at, policy=policy).check(at=at, policy=policy)
            if (
                isinstance(decision, Refused)
                and decision.until is None
                and self.account.failures < policy.failure_limit
            ):
                # Only attempts still undecided would reach the limit: a wait, not (yet) a disabled password.
                return Refused(RefusalReason.TOO_MANY_FAILURES_ON_ACCOUNT, until=at + policy.first_wait)
            return decision
        if self.account.failures >= policy.failure_limit:
            return Refused(RefusalReason.PASSWORD_DISABLED, until=None)
        if self.device is not None:
            waits = [(RefusalReason.TOO_MANY_FAILURES_ON_DEVICE, self.device.waits_until(policy))]
        else:
            waits = [
                (RefusalReason.TOO_MANY_FAILURES_ON_ACCOUNT, self.account.waits_until(policy)),
                (RefusalReason.TOO_MANY_FAILURES_FROM_ADDRESS, self.address.waits_until(policy)),
            ]
        refusals = [Refused(reason, until) for reason, until in waits if until is not None and at < until]
        if not refusals:
            return ALLOWED
        return max(refusals, key=lambda refusal: refusal.until or at)

    def after_failure(self, *, at: datetime, policy: ThrottlePolicy) -> SignInCounters:
        """The counters once a checked password turned out wrong."""
        if self.device is not None:
            return SignInCounters(
                account=self.account.after_failure(at=at),
                address=self.address,
                device=self.device.after_failure(at=at),
            )
        return SignInCounters(
            account=self.account.after_failure(at=at),
            address=self.address.after_failure(at=at, policy=policy),
        )

    def _assuming_failed(self, in_flight: InFlight, *, at: datetime, policy: ThrottlePolicy) -> SignInCounters:
        account, address, device = self.account, self.address, self.device
        for _ in range(in_flight.account):
            account = account.after_failure(at=at)
        for _ in range(in_flight.address):
            address = address.after_failure(at=at, policy=policy)
        if device is not None:
            for _ in range(in_flight.device):
                device = device.after_failure(at=at)
        return SignInCounters(account=account, address=address, device=device)

    def after_success(self) -> SignInCounters:
        """The counters once a checked password was right: the streaks end (§3.2.2), the address keeps its debt."""
        return SignInCounters(
            account=FailureStreak(),
            address=self.address,
            device=None if self.device is None else FailureStreak(),
        )


def address_key(address: str) -> str:
    """The network an address is budgeted under: IPv4 addresses alone, IPv6 by /64 (one subscriber's
    usual allocation, which an attacker could otherwise walk through); IPv4-mapped IPv6 as IPv4."""
    parsed = ipaddress.ip_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def check_codes(streak: FailureStreak, *, at: datetime, policy: ThrottlePolicy) -> Allowed | Refused:
    """Whether a second-factor code may be checked now: wrong codes follow the account streak's rules (free
    failures, growing waits, a hard limit that only a reset lifts), per user; 800-63B-4 §3.2.2 asks it of
    every authenticator."""
    _require_aware(at)
    if streak.failures >= policy.failure_limit:
        return Refused(RefusalReason.CODES_DISABLED, until=None)
    until = streak.waits_until(policy)
    if until is not None and at < until:
        return Refused(RefusalReason.TOO_MANY_WRONG_CODES, until=until)
    return ALLOWED


UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 (a budget key for a request without a peer address, not a bind address)


def source_address(*, peer: str | None, forwarded_for: Sequence[str], trust_forwarded_for: bool) -> str:
    """The address an attempt is budgeted under: the connection's peer, or, when the deployment says identity is
    reached only through the gateway, the last ``X-Forwarded-For`` entry. The gateway appends the peer it saw
    after whatever the client sent, so the last entry is the only one not chosen by the client."""
    candidates = [peer]
    if trust_forwarded_for:
        entries = [entry.strip() for value in forwarded_for for entry in value.split(",")]
        candidates.insert(0, entries[-1] if entries else None)
    for candidate in candidates:
        if candidate:
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                continue
    return UNKNOWN_ADDRESS


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
