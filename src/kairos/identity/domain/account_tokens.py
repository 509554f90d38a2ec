"""Single-use, expiring tokens sent by e-mail (address verification, password reset), and the budgets that
keep anyone from making identity send a stream of such mails.

A token is 256 random bits, sent once in a link; only its SHA-256 digest is kept, so a copy of the
database holds no usable link (ASVS 5.0 V6.4.1, NIST SP 800-63B-4 §4.2 on account recovery codes). A token
serves one purpose, expires, and is used at most once; redeeming it is decided here, storing the outcome is
the caller's business. A reset link lives 30 minutes: it is an authenticator for the account while it lives.

Mail requests (registration, "send the link again", "forgot password") are budgeted per typed address and
per network, like failed sign-ins (``kairos.identity.domain.throttling``): a leaky bucket each, a few at
once, then one per interval. The address key is a digest of the address as typed, whether or not it names
an account, so a refusal tells nothing about who has one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

TOKEN_BYTES = 32


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 (a purpose, not a secret)


LIFETIMES: dict[TokenPurpose, timedelta] = {
    TokenPurpose.VERIFY_EMAIL: timedelta(hours=48),
    TokenPurpose.RESET_PASSWORD: timedelta(minutes=30),
}


class TokenRefusal(StrEnum):
    UNKNOWN = "unknown"
    WRONG_PURPOSE = "wrong_purpose"
    USED = "used"
    EXPIRED = "expired"


class TokenNotValid(Exception):
    """The link cannot be used; ``reason`` is for logs, the person sees one message for every reason."""

    def __init__(self, reason: TokenRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


def token_digest(secret: str) -> bytes:
    """What is stored and looked up in place of the token itself."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class NewToken:
    """A freshly issued token: ``secret`` goes into the mail, the rest into the database."""

    secret: str
    digest: bytes
    purpose: TokenPurpose
    expires_at: datetime


def issue_token(purpose: TokenPurpose, *, at: datetime) -> NewToken:
    _require_aware(at)
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    return NewToken(secret, token_digest(secret), purpose, at + LIFETIMES[purpose])


@dataclass(frozen=True)
class AccountToken:
    """A token as stored: whose it is, what for, until when, and whether it was used."""

    user_id: UUID
    purpose: TokenPurpose
    expires_at: datetime
    used_at: datetime | None = None

    def is_usable(self, *, purpose: TokenPurpose, at: datetime) -> bool:
        try:
            self._check(purpose=purpose, at=at)
        except TokenNotValid:
            return False
        return True

    def redeem(self, *, purpose: TokenPurpose, at: datetime) -> AccountToken:
        """The token once used at ``at``; raises ``TokenNotValid`` when it serves another purpose, was used
        already, or has expired."""
        self._check(purpose=purpose, at=at)
        return replace(self, used_at=at)

    def _check(self, *, purpose: TokenPurpose, at: datetime) -> None:
        _require_aware(at)
        if self.purpose is not purpose:
            raise TokenNotValid(TokenRefusal.WRONG_PURPOSE)
        if self.used_at is not None:
            raise TokenNotValid(TokenRefusal.USED)
        if at >= self.expires_at:
            raise TokenNotValid(TokenRefusal.EXPIRED)


# --- budgets of mail requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetRule:
    """``burst`` requests at once, then one more each ``refill``."""

    burst: int
    refill: timedelta

    def __post_init__(self) -> None:
        if self.burst < 1 or self.refill <= timedelta(0):
            raise ValueError("a budget allows at least one request and refills after a positive time")


@dataclass(frozen=True)
class MailRequestPolicy:
    # One person asking again because a mail is slow is fine; a script mailing someone every minute is not.
    per_address: BudgetRule = BudgetRule(burst=3, refill=timedelta(minutes=20))
    # A household or a clinic behind one address may register several people.
    per_network: BudgetRule = BudgetRule(burst=10, refill=timedelta(minutes=6))


@dataclass(frozen=True)
class RequestBucket:
    """A leaky bucket (the generic cell rate algorithm): each request adds ``refill`` of debt that drains in real
    time; ``drained_at`` is when it will be gone. A request is refused while the debt exceeds ``burst - 1``
    refills, so in any span T at most ``burst + T / refill`` requests are let through."""

    drained_at: datetime | None = None

    def refused_until(self, rule: BudgetRule, *, at: datetime) -> datetime | None:
        """When a request at ``at`` would be let through, or None if it is now."""
        _require_aware(at)
        if self.drained_at is None:
            return None
        until = self.drained_at - (rule.burst - 1) * rule.refill
        return until if at < until else None

    def after_request(self, rule: BudgetRule, *, at: datetime) -> RequestBucket:
        _require_aware(at)
        start = at if self.drained_at is None else max(self.drained_at, at)
        return RequestBucket(drained_at=start + rule.refill)


@dataclass(frozen=True)
class TooManyRequests:
    until: datetime


def check_mail_request(
    *, address: RequestBucket, network: RequestBucket, policy: MailRequestPolicy, at: datetime
) -> TooManyRequests | None:
    """Whether a mail may be requested now for a typed address from a network; the longer wait if not."""
    waits = [
        until
        for until in (
            address.refused_until(policy.per_address, at=at),
            network.refused_until(policy.per_network, at=at),
        )
        if until is not None
    ]
    return TooManyRequests(max(waits)) if waits else None


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
