"""A session acts for one organisation: what roles held there allow, a token allows there only; what global roles
allow, everywhere."""

from __future__ import annotations

import uuid

from kairos.platform.auth.principal import Principal

HARBOUR = uuid.uuid4()
LINDQVIST = uuid.uuid4()


def test_a_permission_held_in_the_organisation_counts_there_only() -> None:
    principal = Principal.from_claims({"sub": "u", "org": str(HARBOUR), "permissions": ["members:read"]})

    assert principal.acts_for(HARBOUR)
    assert principal.acts_for(str(HARBOUR).upper())  # the same id, spelled otherwise
    assert principal.may("members:read", organisation_id=HARBOUR)
    assert not principal.may("members:read", organisation_id=LINDQVIST)
    assert not principal.may("roles:manage", organisation_id=HARBOUR)


def test_a_permission_held_through_a_global_role_counts_everywhere() -> None:
    principal = Principal.from_claims(
        {"sub": "op", "permissions": ["roles:manage", "members:read"], "global_permissions": ["roles:manage"]}
    )

    assert principal.may("roles:manage", organisation_id=HARBOUR)
    assert principal.may("roles:manage", organisation_id=LINDQVIST)
    assert not principal.may("members:read", organisation_id=HARBOUR)  # no org: nothing organisational


def test_a_global_permission_the_token_does_not_also_grant_is_ignored() -> None:
    principal = Principal.from_claims({"sub": "u", "org": str(HARBOUR), "global_permissions": ["roles:manage"]})

    assert principal.global_permissions == frozenset()
    assert not principal.may("roles:manage", organisation_id=LINDQVIST)


def test_without_an_organisation_nothing_acts_for_one() -> None:
    principal = Principal.from_claims({"sub": "u", "permissions": ["members:read"]})

    assert not principal.acts_for(HARBOUR)
    assert not principal.acts_for("None")
