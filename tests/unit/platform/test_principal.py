"""Who is calling, read from the claims of a verified access token."""

from __future__ import annotations

from kairos.platform.auth.principal import Principal


def test_every_kairos_claim_becomes_a_principal_field() -> None:
    principal = Principal.from_claims(
        {
            "sub": "user-1",
            "client_id": "web",
            "org": "clinic-7",
            "roles": ["professional", "owner"],
            "permissions": ["appointments:decide"],
            "scope": "openid appointments.read",
        },
        token="header.payload.signature",
    )

    assert principal.subject == "user-1"
    assert principal.client_id == "web"
    assert principal.organisation_id == "clinic-7"
    assert principal.roles == {"professional", "owner"}
    assert principal.permissions == {"appointments:decide"}
    assert principal.scopes == {"openid", "appointments.read"}
    assert principal.has_role("owner")
    assert principal.has_permission("appointments:decide")
    assert principal.has_scope("appointments.read")
    assert principal.token == "header.payload.signature"


def test_a_token_with_only_a_subject_grants_nothing() -> None:
    principal = Principal.from_claims({"sub": "user-1"})

    assert principal.client_id is None
    assert principal.organisation_id is None
    assert principal.roles == frozenset()
    assert principal.permissions == frozenset()
    assert principal.scopes == frozenset()
    assert not principal.has_role("")
    assert not principal.has_scope("")


def test_the_authorised_party_names_the_client_when_client_id_is_absent() -> None:
    assert Principal.from_claims({"sub": "user-1", "azp": "mobile"}).client_id == "mobile"


def test_space_separated_roles_and_a_numeric_subject_are_read_as_strings() -> None:
    principal = Principal.from_claims({"sub": 1234, "roles": "operator  auditor", "org": 9})

    assert principal.subject == "1234"
    assert principal.organisation_id == "9"
    assert principal.roles == {"operator", "auditor"}


def test_a_claim_of_an_unexpected_shape_grants_nothing() -> None:
    principal = Principal.from_claims({"sub": "user-1", "permissions": {"appointments:decide": True}})

    assert principal.permissions == frozenset()


def test_the_raw_token_stays_out_of_logs_and_out_of_equality() -> None:
    one = Principal.from_claims({"sub": "user-1", "jti": "a"}, token="secret-token-one")
    other = Principal.from_claims({"sub": "user-1", "jti": "b"}, token="secret-token-two")

    assert "secret-token-one" not in repr(one)
    assert one == other
