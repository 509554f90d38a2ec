"""Tokens sent by mail (single use, one purpose, expiry) and the budgets of mail requests, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kairos.identity.domain.account_tokens import (
    LIFETIMES,
    AccountToken,
    BudgetRule,
    MailRequestPolicy,
    RequestBucket,
    TokenNotValid,
    TokenPurpose,
    TokenRefusal,
    TooManyRequests,
    check_mail_request,
    issue_token,
    token_digest,
)

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
USER = uuid.UUID("0190a000-0000-7000-8000-000000000001")


def stored(purpose: TokenPurpose = TokenPurpose.RESET_PASSWORD, *, issued_at: datetime = NOON) -> AccountToken:
    issued = issue_token(purpose, at=issued_at)
    return AccountToken(user_id=USER, purpose=issued.purpose, expires_at=issued.expires_at)


def test_an_issued_token_is_random_and_only_its_digest_is_what_is_stored() -> None:
    first, second = issue_token(TokenPurpose.VERIFY_EMAIL, at=NOON), issue_token(TokenPurpose.VERIFY_EMAIL, at=NOON)
    assert first.secret != second.secret
    assert len(first.secret) >= 43  # 256 bits in URL-safe base64
    assert first.digest == token_digest(first.secret)
    assert first.secret.encode() not in first.digest


def test_a_reset_link_lives_30_minutes_and_a_verification_link_two_days() -> None:
    assert issue_token(TokenPurpose.RESET_PASSWORD, at=NOON).expires_at == NOON + timedelta(minutes=30)
    assert issue_token(TokenPurpose.VERIFY_EMAIL, at=NOON).expires_at == NOON + LIFETIMES[TokenPurpose.VERIFY_EMAIL]


def test_a_token_is_redeemed_once() -> None:
    token = stored()
    used = token.redeem(purpose=TokenPurpose.RESET_PASSWORD, at=NOON + timedelta(minutes=1))
    assert used.used_at == NOON + timedelta(minutes=1)
    with pytest.raises(TokenNotValid) as refused:
        used.redeem(purpose=TokenPurpose.RESET_PASSWORD, at=NOON + timedelta(minutes=2))
    assert refused.value.reason is TokenRefusal.USED


def test_a_token_expires_at_the_end_of_its_lifetime_exactly() -> None:
    token = stored()
    last_moment = NOON + timedelta(minutes=30) - timedelta(microseconds=1)
    assert token.is_usable(purpose=TokenPurpose.RESET_PASSWORD, at=last_moment)
    with pytest.raises(TokenNotValid) as refused:
        token.redeem(purpose=TokenPurpose.RESET_PASSWORD, at=NOON + timedelta(minutes=30))
    assert refused.value.reason is TokenRefusal.EXPIRED


def test_a_verification_token_cannot_reset_a_password() -> None:
    token = stored(TokenPurpose.VERIFY_EMAIL)
    with pytest.raises(TokenNotValid) as refused:
        token.redeem(purpose=TokenPurpose.RESET_PASSWORD, at=NOON)
    assert refused.value.reason is TokenRefusal.WRONG_PURPOSE


def test_times_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        stored().redeem(purpose=TokenPurpose.RESET_PASSWORD, at=datetime(2026, 11, 25, 12, 0))


RULE = BudgetRule(burst=3, refill=timedelta(minutes=20))


def test_a_bucket_lets_a_burst_through_then_one_request_per_refill() -> None:
    bucket = RequestBucket()
    for _ in range(3):
        assert bucket.refused_until(RULE, at=NOON) is None
        bucket = bucket.after_request(RULE, at=NOON)
    assert bucket.refused_until(RULE, at=NOON) == NOON + timedelta(minutes=20)
    assert bucket.refused_until(RULE, at=NOON + timedelta(minutes=20)) is None
    bucket = bucket.after_request(RULE, at=NOON + timedelta(minutes=20))
    assert bucket.refused_until(RULE, at=NOON + timedelta(minutes=39)) == NOON + timedelta(minutes=40)


def test_a_drained_bucket_starts_afresh() -> None:
    bucket = RequestBucket().after_request(RULE, at=NOON)
    much_later = NOON + timedelta(days=1)
    bucket = bucket.after_request(RULE, at=much_later)
    assert bucket.drained_at == much_later + RULE.refill


def test_a_mail_request_waits_for_the_slower_of_its_address_and_its_network() -> None:
    policy = MailRequestPolicy(
        per_address=BudgetRule(burst=1, refill=timedelta(minutes=20)),
        per_network=BudgetRule(burst=1, refill=timedelta(minutes=5)),
    )
    address = RequestBucket().after_request(policy.per_address, at=NOON)
    network = RequestBucket().after_request(policy.per_network, at=NOON)
    assert check_mail_request(address=address, network=network, policy=policy, at=NOON) == TooManyRequests(
        NOON + timedelta(minutes=20)
    )
    assert check_mail_request(address=RequestBucket(), network=network, policy=policy, at=NOON) == TooManyRequests(
        NOON + timedelta(minutes=5)
    )
    assert check_mail_request(address=RequestBucket(), network=RequestBucket(), policy=policy, at=NOON) is None


def test_a_budget_allows_at_least_one_request() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BudgetRule(burst=0, refill=timedelta(minutes=1))
