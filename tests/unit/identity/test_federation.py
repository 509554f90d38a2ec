"""The rules of signing in through an organisation's identity provider (kairos.identity.domain.federation)."""

from __future__ import annotations

from typing import Any

import pytest

from kairos.identity.domain.federation import (
    ENTRA_AUTHORITY,
    ExternalPerson,
    InvalidProvider,
    Outcome,
    ProviderConfiguration,
    ProviderKind,
    TokenRefused,
    configure,
    decide,
    expected_issuer,
    external_person,
    session_methods,
)
from kairos.identity.domain.roles import Role

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
TEMPLATE = "https://login.microsoftonline.com/{tenantid}/v2.0"


def entra(
    tenant: str = "organizations", allowed: tuple[str, ...] = (TENANT,), **overrides: Any
) -> ProviderConfiguration:
    arguments: dict[str, Any] = {
        "kind": ProviderKind.ENTRA,
        "issuer": None,
        "tenant": tenant,
        "authority": ENTRA_AUTHORITY,
        "allowed_tenants": allowed,
        "allowed_email_domains": ["Contoso.example"],
        "default_role": Role.STAFF,
        "is_jit_allowed": True,
    }
    arguments.update(overrides)
    return configure(**arguments)


def oidc(**overrides: Any) -> ProviderConfiguration:
    arguments: dict[str, Any] = {
        "kind": ProviderKind.OIDC,
        "issuer": "https://idp.example/realms/clinic/",
        "tenant": None,
        "authority": ENTRA_AUTHORITY,
        "allowed_tenants": (),
        "allowed_email_domains": ["clinic.example"],
        "default_role": Role.PATIENT,
        "is_jit_allowed": False,
    }
    arguments.update(overrides)
    return configure(**arguments)


def test_an_entra_registration_derives_the_v2_issuer_and_normalises_domains() -> None:
    multi = entra()
    assert multi.issuer == "https://login.microsoftonline.com/organizations/v2.0"
    assert multi.is_multi_tenant
    assert multi.allowed_email_domains == {"contoso.example"}
    single = entra(tenant=TENANT.upper(), allowed=())
    assert single.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert not single.is_multi_tenant
    assert oidc().issuer == "https://idp.example/realms/clinic"


@pytest.mark.parametrize(
    "build",
    [
        lambda: entra(default_role=Role.DOMAIN_ADMIN),
        lambda: entra(default_role=Role.OPERATOR),
        lambda: entra(allowed=()),  # a multi-tenant app would let any tenant in
        lambda: entra(tenant="contoso"),
        lambda: entra(tenant=TENANT, allowed=(OTHER_TENANT,)),
        lambda: entra(allowed=("not-a-guid",)),
        lambda: entra(issuer="https://login.microsoftonline.com/x/v2.0"),
        lambda: entra(authority="http://login.example"),
        lambda: oidc(issuer="http://idp.example"),
        lambda: oidc(issuer=None),
        lambda: oidc(tenant=TENANT),
        lambda: oidc(allowed_email_domains=["not a domain"]),
    ],
)
def test_registrations_that_are_not_valid_are_refused(build: Any) -> None:
    with pytest.raises(InvalidProvider):
        build()


def test_the_issuer_of_a_multi_tenant_token_is_the_template_with_the_tokens_own_allowed_tenant() -> None:
    assert expected_issuer(entra(), TEMPLATE, {"tid": TENANT}) == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    with pytest.raises(TokenRefused):
        expected_issuer(entra(), TEMPLATE, {"tid": OTHER_TENANT})
    with pytest.raises(TokenRefused):
        expected_issuer(entra(), TEMPLATE, {})
    with pytest.raises(TokenRefused):
        expected_issuer(entra(), TEMPLATE, {"tid": "../../evil"})


def test_a_single_tenant_provider_takes_its_own_tenant_only() -> None:
    single = entra(tenant=TENANT, allowed=())
    assert expected_issuer(single, single.issuer, {"tid": TENANT}) == single.issuer
    with pytest.raises(TokenRefused):
        expected_issuer(single, single.issuer, {"tid": OTHER_TENANT})


def test_an_oidc_token_is_held_to_the_discovered_issuer() -> None:
    assert expected_issuer(oidc(), "https://idp.example/realms/clinic", {"tid": TENANT}) == (
        "https://idp.example/realms/clinic"
    )


def test_an_entra_person_is_known_by_tenant_and_object_id_not_by_sub_or_address() -> None:
    claims = {
        "tid": TENANT,
        "oid": "00000000-0000-0000-66F3-3332ECA7EA81",
        "sub": "pairwise",
        "email": "A@contoso.example",
    }
    found = external_person(entra(), claims)
    assert found.subject == f"{TENANT}:00000000-0000-0000-66f3-3332eca7ea81"
    assert found.email == "a@contoso.example"
    assert found.is_email_trusted
    with pytest.raises(TokenRefused):
        external_person(entra(), {"tid": TENANT, "sub": "pairwise"})


def test_the_address_is_trusted_only_in_the_registered_domains() -> None:
    outside = external_person(entra(), {"tid": TENANT, "oid": "o", "preferred_username": "a@elsewhere.example"})
    assert outside.email == "a@elsewhere.example"
    assert not outside.is_email_trusted
    no_address = external_person(entra(), {"tid": TENANT, "oid": "o", "preferred_username": "not-an-address"})
    assert no_address.email is None
    unverified = external_person(oidc(), {"sub": "s", "email": "a@clinic.example", "email_verified": False})
    assert not unverified.is_email_trusted


def test_only_an_mfa_amr_counts_as_a_second_factor() -> None:
    with_mfa = external_person(entra(), {"tid": TENANT, "oid": "o", "amr": ["pwd", "mfa"]})
    assert with_mfa.did_multi_factor
    assert session_methods(with_mfa) == ("fed", "mfa")
    for amr in (["pwd"], "mfa", None, [["mfa"]]):
        without = external_person(entra(), {"tid": TENANT, "oid": "o", "amr": amr})
        assert not without.did_multi_factor
        assert session_methods(without) == ("fed",)


def person(*, trusted: bool = True, email: str | None = "a@contoso.example") -> ExternalPerson:
    return ExternalPerson("t:o", email, trusted, "A", did_multi_factor=False)


@pytest.mark.parametrize(
    ("arguments", "outcome"),
    [
        ({"linked_account_enabled": True}, Outcome.SIGN_IN),
        ({"linked_account_enabled": False}, Outcome.REFUSE_DISABLED),
        ({"signed_in_to_link": True, "address_holder_exists": True}, Outcome.LINK_SIGNED_IN),
        ({"address_holder_exists": True}, Outcome.PROVE_TO_LINK),  # never linked on the address alone
        ({"address_holder_exists": True, "person": person(trusted=False)}, Outcome.REFUSE_ADDRESS_TAKEN),
        ({}, Outcome.CREATE),
        ({"is_jit_allowed": False}, Outcome.REFUSE_NO_ACCOUNT),
        ({"person": person(email=None)}, Outcome.REFUSE_NO_ACCOUNT),
    ],
)
def test_what_a_sign_in_leads_to(arguments: dict[str, Any], outcome: Outcome) -> None:
    given: dict[str, Any] = {
        "person": person(),
        "is_jit_allowed": True,
        "linked_account_enabled": None,
        "signed_in_to_link": False,
        "address_holder_exists": False,
        **arguments,
    }
    assert decide(**given) is outcome
