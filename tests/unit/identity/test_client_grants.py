"""When a third-party application's request needs the person's consent, and how its scopes are put into words."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from kairos.identity.consent_texts import describe_scope
from kairos.identity.domain.client_grants import (
    Access,
    ClientGrant,
    ConsentDecision,
    ScopeKind,
    decide_consent,
    scope_meaning,
    widened_scopes,
)

NOON = datetime(2026, 11, 25, 12, tzinfo=UTC)
PERSON = uuid.UUID("00000000-0000-7000-8000-000000000001")


def grant(*scopes: str, revoked: bool = False) -> ClientGrant:
    return ClientGrant(PERSON, "calendar-app", frozenset(scopes), NOON, NOON if revoked else None)


def test_a_first_party_client_never_asks() -> None:
    decided = decide_consent(is_first_party=True, grant=None, requested=["openid", "email"], prompts=["consent"])
    assert decided is ConsentDecision.GRANTED


def test_a_third_party_client_asks_until_a_grant_covers_the_scopes() -> None:
    assert decide_consent(is_first_party=False, grant=None, requested=["openid"], prompts=[]) is ConsentDecision.ASK
    covering = grant("openid", "profile", "email")
    assert decide_consent(is_first_party=False, grant=covering, requested=["openid", "email"], prompts=[]) is (
        ConsentDecision.GRANTED
    )
    assert decide_consent(is_first_party=False, grant=covering, requested=["openid", "offline_access"], prompts=[]) is (
        ConsentDecision.ASK
    )


def test_prompt_consent_asks_again_and_prompt_none_cannot_ask() -> None:
    covering = grant("openid")
    assert decide_consent(is_first_party=False, grant=covering, requested=["openid"], prompts=["consent"]) is (
        ConsentDecision.ASK
    )
    assert decide_consent(is_first_party=False, grant=None, requested=["openid"], prompts=["none"]) is (
        ConsentDecision.REQUIRED
    )
    assert decide_consent(is_first_party=False, grant=covering, requested=["openid"], prompts=["none"]) is (
        ConsentDecision.GRANTED
    )


def test_a_revoked_grant_covers_nothing() -> None:
    revoked = grant("openid", revoked=True)
    assert decide_consent(is_first_party=False, grant=revoked, requested=["openid"], prompts=[]) is ConsentDecision.ASK
    assert widened_scopes(revoked, ["email"]) == {"email"}


def test_allowing_more_keeps_what_was_allowed_before() -> None:
    assert widened_scopes(grant("openid", "profile"), ["openid", "email"]) == {"openid", "profile", "email"}


@pytest.mark.parametrize(
    ("scope", "kind", "access"),
    [
        ("openid", ScopeKind.OPENID, None),
        ("offline_access", ScopeKind.OFFLINE_ACCESS, None),
        ("patient/Appointment.read", ScopeKind.SMART, Access.READ),
        ("patient/Appointment.rs", ScopeKind.SMART, Access.READ),
        ("user/Appointment.cu", ScopeKind.SMART, Access.WRITE),
        ("user/*.*", ScopeKind.SMART, Access.READ_WRITE),
        ("patient/Appointment.cruds", ScopeKind.SMART, Access.READ_WRITE),
        ("system/*.read", ScopeKind.OTHER, None),  # a backend's own, never a person's to give
        ("patient/Observation.rs?category=vital-signs", ScopeKind.OTHER, None),
        ("patient/Appointment.sr", ScopeKind.OTHER, None),  # v2 letters come in the order c r u d s
        ("launch", ScopeKind.OTHER, None),
    ],
)
def test_scopes_are_understood(scope: str, kind: ScopeKind, access: Access | None) -> None:
    meaning = scope_meaning(scope)
    assert meaning.kind is kind
    assert meaning.access == access


def test_scopes_are_put_in_plain_words_in_english_and_french() -> None:
    assert describe_scope(scope_meaning("patient/Appointment.read"), "en") == "Read your appointments"
    assert describe_scope(scope_meaning("patient/Appointment.read"), "fr") == "Lire vos rendez-vous"
    assert describe_scope(scope_meaning("user/*.write"), "en") == "Create and change all the data your account can see"
    assert describe_scope(scope_meaning("email"), "fr") == "Voir votre adresse e-mail"
    assert describe_scope(scope_meaning("launch"), "en") == "Use the permission “launch”"
