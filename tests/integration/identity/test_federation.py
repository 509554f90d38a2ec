"""Single sign-on through an organisation's identity provider, end to end against a second OpenID provider that
behaves as Microsoft Entra ID does (``entra_issuer.py``): registration, changes and removal, first-sign-in accounts
and the membership they get, identity by (tid, oid), tenant allow-lists, ID token checks, and linking that always
needs the Kairos password."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urljoin

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from joserfc.jwk import RSAKey
from sqlalchemy import select

from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.domain.roles import Role
from kairos.identity.repository import load_account_record, sealed_account
from kairos.identity.sessions import SESSION_COOKIE
from kairos.identity.tables import browser_sessions, external_identities, identity_providers, memberships, users
from kairos.platform.testing.infrastructure import unique_name
from tests.integration.identity.conftest import (
    Provider,
    create_person,
    form_fields,
    organisation_ids,
    sign_in,
    web_client,
)
from tests.integration.identity.entra_issuer import EntraIssuer, EntraPerson, new_tenant, running_entra
from tests.integration.identity.records import assert_problem, audit_records, call, events, has_address

pytestmark = pytest.mark.integration

HARBOUR_ADMIN = "admin@harbour.demo.kairos.test"
TRUSTED_DOMAIN = "harbour-clinic.test"
ALLOWED_TENANT = new_tenant()
OTHER_TENANT = new_tenant()


@pytest.fixture(scope="module")
async def entra(provider: Provider) -> AsyncIterator[EntraIssuer]:
    async with running_entra(redirect_uri=f"{provider.issuer}/federation/callback") as running:
        yield running


@pytest.fixture(scope="module")
async def admin_token(provider: Provider) -> str:
    return (await sign_in(provider, HARBOUR_ADMIN)).access_token


@pytest.fixture(scope="module")
async def harbour(provider: Provider) -> uuid.UUID:
    return (await organisation_ids(provider))["harbour"]


async def register(
    provider: Provider, entra: EntraIssuer, token: str, organisation: uuid.UUID, **overrides: Any
) -> httpx.Response:
    body = {
        "display_name": "Harbour Entra ID",
        "kind": "entra",
        "tenant": "organizations",
        "authority": entra.base,
        "allowed_tenants": [ALLOWED_TENANT],
        "client_id": entra.client_id,
        "client_secret": entra.client_secret,
        "allowed_email_domains": [TRUSTED_DOMAIN],
        "default_role": "professional",
        "is_jit_allowed": True,
        **overrides,
    }
    return await call(provider, "POST", f"/organisations/{organisation}/identity-providers", token, json=body)


@pytest.fixture(scope="module")
async def entra_provider(provider: Provider, entra: EntraIssuer, admin_token: str, harbour: uuid.UUID) -> uuid.UUID:
    registered = await register(provider, entra, admin_token, harbour)
    assert registered.status_code == 201, registered.text
    return uuid.UUID(registered.json()["id"])


def person(email: str | None = None, *, tenant: str = ALLOWED_TENANT, mfa: bool = True) -> EntraPerson:
    return EntraPerson(
        tenant_id=tenant,
        object_id=str(uuid.uuid4()),
        email=email if email is not None else f"{unique_name('sso-')}@{TRUSTED_DOMAIN}",
        name="Noor Federated",
        amr=("pwd", "mfa") if mfa else ("pwd",),
    )


async def federated_sign_in(
    provider: Provider, entra: EntraIssuer, provider_id: uuid.UUID, browser: httpx.AsyncClient
) -> httpx.Response:
    """Click "Sign in with …", be signed in at the provider, come back: identity's answer to the callback."""
    started = await browser.get(f"{provider.issuer}/federation/{provider_id}/start")
    assert started.status_code == 303, started.text
    assert started.headers["location"].startswith(entra.base)
    at_provider = await browser.get(started.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    return await browser.get(at_provider.headers["location"])


async def session_of(provider: Provider, browser: httpx.AsyncClient) -> Any:
    cookie = browser.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    async with provider.runtime.sessionmaker() as session:
        return (
            await session.execute(
                select(browser_sessions).where(browser_sessions.c.id == uuid.UUID(cookie.partition(".")[0]))
            )
        ).first()


async def linked_user(provider: Provider, provider_id: uuid.UUID, who: EntraPerson) -> uuid.UUID | None:
    async with provider.runtime.sessionmaker() as session:
        found: uuid.UUID | None = await session.scalar(
            select(external_identities.c.user_id).where(
                external_identities.c.provider_id == provider_id,
                external_identities.c.subject == f"{who.tenant_id}:{who.object_id}",
            )
        )
    return found


async def user_by_email(provider: Provider, email: str) -> Any:
    async with provider.runtime.sessionmaker() as session:
        return (await session.execute(select(users).where(await has_address(provider, email)))).first()


# --- registration ------------------------------------------------------------------------------------------


async def test_registering_a_provider_needs_roles_manage_there_and_keeps_the_secret_encrypted(
    provider: Provider, entra: EntraIssuer, admin_token: str, harbour: uuid.UUID, entra_provider: uuid.UUID
) -> None:
    patient = await sign_in(provider, await create_person(provider))
    assert_problem(await register(provider, entra, patient.access_token, harbour), 403, "forbidden")
    lindqvist_admin = await sign_in(provider, "admin@lindqvist.demo.kairos.test")
    assert_problem(await register(provider, entra, lindqvist_admin.access_token, harbour), 403, "forbidden")
    listed = await call(provider, "GET", f"/organisations/{harbour}/identity-providers", admin_token)
    assert listed.status_code == 200
    (shown,) = [item for item in listed.json() if item["id"] == str(entra_provider)]
    assert "client_secret" not in shown
    assert shown["issuer"] == f"{entra.base}/organizations/v2.0"
    async with provider.runtime.sessionmaker() as session:
        stored = await session.scalar(
            select(identity_providers.c.client_secret).where(identity_providers.c.id == entra_provider)
        )
    assert stored is not None
    assert entra.client_secret.encode() not in stored


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"default_role": "domain_admin"}, "first-sign-in accounts are never admins"),
        ({"default_role": "operator"}, "nor operators"),
        ({"allowed_tenants": []}, "a multi-tenant provider lists its tenants"),
        ({"tenant": "not-a-tenant"}, "a tenant is a GUID"),
        ({"kind": "oidc", "tenant": None, "allowed_tenants": [], "issuer": "http://idp.example"}, "https only"),
        ({"allowed_email_domains": ["not a domain"]}, "domains are domains"),
    ],
)
async def test_a_registration_that_is_not_valid_is_a_problem(
    provider: Provider, entra: EntraIssuer, admin_token: str, harbour: uuid.UUID, overrides: dict[str, Any], why: str
) -> None:
    response = await register(provider, entra, admin_token, harbour, **overrides)
    assert response.status_code == 422, why
    assert response.headers["content-type"].startswith("application/problem+json")


# --- first sign-in and the next ones ------------------------------------------------------------------------


async def test_a_first_sign_in_creates_the_account_in_the_organisation_and_the_next_finds_it_by_tid_and_oid(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID, harbour: uuid.UUID
) -> None:
    noor = person()
    entra.person = noor
    async with httpx.AsyncClient() as browser:
        answered = await federated_sign_in(provider, entra, entra_provider, browser)
        assert answered.status_code == 303, answered.text
        assert answered.headers["location"].endswith("/signed-in")
        session = await session_of(provider, browser)
    account = await user_by_email(provider, noor.email or "")
    assert account is not None
    assert account.password_hash is None
    assert account.email_verified_at is not None  # a trusted domain: the provider vouches for the address
    assert session.user_id == account.id
    assert session.pending_step is None  # the provider did MFA (amr "mfa"), which the professional role needs
    assert list(session.methods) == ["fed", "mfa"]
    assert await linked_user(provider, entra_provider, noor) == account.id
    async with provider.runtime.sessionmaker() as db:
        roles = set(
            await db.scalars(
                select(memberships.c.role).where(
                    memberships.c.user_id == account.id, memberships.c.organisation_id == harbour
                )
            )
        )
    assert roles == {Role.PROFESSIONAL.value}
    registered = await events(provider, "identity.user.registered", user_id=str(account.id))
    assert len(registered) == 1
    assert registered[0]["roles"] == ["professional"]

    # The tenant's administrator renames the person's address: still the same person (tid, oid), same account.
    noor.email = f"{unique_name('renamed-')}@{TRUSTED_DOMAIN}"
    async with httpx.AsyncClient() as browser:
        again = await federated_sign_in(provider, entra, entra_provider, browser)
        assert again.status_code == 303, again.text
        assert (await session_of(provider, browser)).user_id == account.id
    assert await user_by_email(provider, noor.email) is None


async def test_a_person_of_a_tenant_not_allowed_is_refused(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID
) -> None:
    stranger = person(tenant=OTHER_TENANT)
    entra.person = stranger
    async with httpx.AsyncClient() as browser:
        answered = await federated_sign_in(provider, entra, entra_provider, browser)
        assert answered.status_code == 403
        assert browser.cookies.get(SESSION_COOKIE) is None
    assert await user_by_email(provider, stranger.email or "") is None


@pytest.mark.parametrize(
    ("tamper", "what"),
    [
        ({"nonce": "not-the-one-sent"}, "a replayed or injected ID token (nonce)"),
        ({"aud": "another-application"}, "a token for another application (aud)"),
        ({"iss": "http://127.0.0.1:9/elsewhere/v2.0"}, "another issuer (iss)"),
        ({"iss": "{other}"}, "an iss naming another tenant than tid"),
        ({"exp": 1_000_000_000}, "an expired token (exp)"),
        ({"tid": None}, "no tenant"),
        ({"oid": None}, "no object id"),
    ],
)
async def test_an_id_token_that_does_not_check_out_is_refused(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID, tamper: dict[str, Any], what: str
) -> None:
    someone = person()
    entra.person = someone
    entra.tamper = {
        name: (entra.authority_issuer(OTHER_TENANT) if value == "{other}" else value) for name, value in tamper.items()
    }
    try:
        async with httpx.AsyncClient() as browser:
            answered = await federated_sign_in(provider, entra, entra_provider, browser)
            assert answered.status_code == 403, what
            assert browser.cookies.get(SESSION_COOKIE) is None, what
    finally:
        entra.tamper = {}
    assert await user_by_email(provider, someone.email or "") is None, what


async def test_an_id_token_not_signed_with_the_providers_published_keys_is_refused(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID
) -> None:
    someone = person()
    entra.person = someone
    entra.forged_key = RSAKey.generate_key(2048, parameters={"kid": entra.key.kid})
    try:
        async with httpx.AsyncClient() as browser:
            answered = await federated_sign_in(provider, entra, entra_provider, browser)
            assert answered.status_code == 403
            assert browser.cookies.get(SESSION_COOKIE) is None
    finally:
        entra.forged_key = None
    assert await user_by_email(provider, someone.email or "") is None


async def test_a_person_who_declines_at_the_provider_is_not_signed_in(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID
) -> None:
    entra.person = None  # the provider answers access_denied
    async with httpx.AsyncClient() as browser:
        answered = await federated_sign_in(provider, entra, entra_provider, browser)
        assert answered.status_code == 401
        assert browser.cookies.get(SESSION_COOKIE) is None


async def test_a_callback_in_a_browser_that_did_not_start_the_sign_in_is_refused(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID
) -> None:
    entra.person = person()
    async with httpx.AsyncClient() as attacker, httpx.AsyncClient() as victim:
        started = await attacker.get(f"{provider.issuer}/federation/{entra_provider}/start")
        at_provider = await attacker.get(started.headers["location"])
        # The attacker's callback URL, opened in the victim's browser (login CSRF): not this browser's state.
        forced = await victim.get(at_provider.headers["location"])
        assert forced.status_code == 400
        assert victim.cookies.get(SESSION_COOKIE) is None
        # Nor is a callback good twice.
        first = await attacker.get(at_provider.headers["location"])
        assert first.status_code == 303
        attacker.cookies.set("kairos_federation", started.cookies["kairos_federation"], path="/api/v1/identity")
        assert (await attacker.get(at_provider.headers["location"])).status_code == 400


async def test_without_mfa_at_the_provider_a_role_that_needs_it_still_owes_the_kairos_second_factor(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID
) -> None:
    entra.person = person(mfa=False)
    async with httpx.AsyncClient() as browser:
        answered = await federated_sign_in(provider, entra, entra_provider, browser)
        assert answered.status_code == 303
        assert "/mfa/enrol" in answered.headers["location"]
        session = await session_of(provider, browser)
    assert session.pending_step == "enrol"
    assert list(session.methods) == ["fed"]


# --- linking to an existing account ------------------------------------------------------------------------


async def test_linking_an_existing_account_needs_its_password(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID
) -> None:
    email = f"{unique_name('existing-')}@{TRUSTED_DOMAIN}"
    existing = await create_person(provider)
    async with provider.runtime.unit_of_work() as uow:  # the person's account, moved to their work address
        account = await load_account_record(uow.session, uow.cipher, email=existing)
        assert account is not None
        moved = await sealed_account(uow.cipher, account.id, email=email)
        await uow.session.execute(users.update().where(users.c.id == account.id).values(**moved))
        await uow.commit()
    account = await user_by_email(provider, email)
    carol = person(email)
    entra.person = carol
    async with httpx.AsyncClient() as browser:
        answered = await federated_sign_in(provider, entra, entra_provider, browser)
        assert answered.status_code == 303
        assert answered.headers["location"].split("?")[0].endswith("/federation/link")
        assert browser.cookies.get(SESSION_COOKIE) is None  # nothing signed in on the address alone
        assert await linked_user(provider, entra_provider, carol) is None
        page = await browser.get(urljoin(str(answered.url), answered.headers["location"]))
        assert page.status_code == 200
        assert email in page.text
        wrong = await browser.post(
            f"{provider.issuer}/federation/link", data={**form_fields(page.text), "password": "not the password"}
        )
        assert wrong.status_code == 401
        assert await linked_user(provider, entra_provider, carol) is None
        right = await browser.post(
            f"{provider.issuer}/federation/link", data={**form_fields(page.text), "password": DEMO_PASSWORD}
        )
        assert right.status_code == 303, right.text
        assert (await session_of(provider, browser)).user_id == account.id
    assert await linked_user(provider, entra_provider, carol) == account.id
    async with httpx.AsyncClient() as browser:  # from now on the provider's sign-in is enough
        again = await federated_sign_in(provider, entra, entra_provider, browser)
        assert again.status_code == 303
        assert (await session_of(provider, browser)).user_id == account.id


async def test_an_account_signed_in_in_the_browser_that_starts_the_sign_in_is_linked(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID
) -> None:
    email = await create_person(provider)
    dana = person(f"{unique_name('dana-')}@{TRUSTED_DOMAIN}")
    entra.person = dana
    async with httpx.AsyncClient() as browser:
        page = await browser.get(f"{provider.issuer}/sign-in")
        signed_in = await browser.post(
            f"{provider.issuer}/sign-in", data={**form_fields(page.text), "email": email, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 303
        answered = await federated_sign_in(provider, entra, entra_provider, browser)
        assert answered.status_code == 303
    account = await user_by_email(provider, email)
    assert await linked_user(provider, entra_provider, dana) == account.id
    assert await user_by_email(provider, dana.email or "") is None  # linked, not created


async def test_an_identity_with_an_admins_address_is_not_linked_to_the_admin(
    provider: Provider, entra: EntraIssuer, admin_token: str, harbour: uuid.UUID
) -> None:
    # A provider trusted for the admin's own domain: a tenant administrator could still name anyone's address.
    registered = await register(
        provider,
        entra,
        admin_token,
        harbour,
        display_name="Harbour staff directory",
        allowed_email_domains=["harbour.demo.kairos.test"],
    )
    assert registered.status_code == 201, registered.text
    provider_id = uuid.UUID(registered.json()["id"])
    impostor = person(HARBOUR_ADMIN)
    entra.person = impostor
    async with httpx.AsyncClient() as browser:
        answered = await federated_sign_in(provider, entra, provider_id, browser)
        assert answered.status_code == 303
        assert "/federation/link" in answered.headers["location"]
        assert browser.cookies.get(SESSION_COOKIE) is None
        page = await browser.get(urljoin(str(answered.url), answered.headers["location"]))
        refused = await browser.post(
            f"{provider.issuer}/federation/link", data={**form_fields(page.text), "password": "guessing"}
        )
        assert refused.status_code == 401
        assert browser.cookies.get(SESSION_COOKIE) is None
    assert await linked_user(provider, provider_id, impostor) is None


async def test_an_address_taken_outside_the_trusted_domains_is_neither_linked_nor_reused(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID
) -> None:
    someone = person(await create_person(provider))  # example.org: not a domain this provider is trusted for
    entra.person = someone
    async with httpx.AsyncClient() as browser:
        answered = await federated_sign_in(provider, entra, entra_provider, browser)
        assert answered.status_code == 403
        assert browser.cookies.get(SESSION_COOKIE) is None
    assert await linked_user(provider, entra_provider, someone) is None


# --- the sign-in page ----------------------------------------------------------------------------------------


async def test_the_sign_in_page_offers_the_organisations_provider_and_finds_it_by_the_address(
    provider: Provider, entra: EntraIssuer, entra_provider: uuid.UUID, harbour: uuid.UUID
) -> None:
    async with httpx.AsyncClient() as browser:
        page = await browser.get(f"{provider.issuer}/sign-in", params={"organisation": str(harbour), "lang": "fr"})
        assert page.status_code == 200
        assert "Se connecter avec Harbour Entra ID" in page.text
        assert f"federation/{entra_provider}/start" in page.text
        found = await browser.post(
            f"{provider.issuer}/federation/discover",
            data={**form_fields(page.text), "email": f"someone@{TRUSTED_DOMAIN}"},
        )
        assert found.status_code == 303
        assert f"/federation/{entra_provider}/start" in found.headers["location"]
        unknown = await browser.post(
            f"{provider.issuer}/federation/discover", data={**form_fields(page.text), "email": "someone@example.net"}
        )
        assert unknown.status_code == 404
        forged = await browser.post(
            f"{provider.issuer}/federation/discover", data={"csrf_token": "forged", "email": f"a@{TRUSTED_DOMAIN}"}
        )
        assert forged.status_code == 403


async def test_a_plain_openid_provider_knows_its_people_by_sub(
    provider: Provider, entra: EntraIssuer, admin_token: str, harbour: uuid.UUID
) -> None:
    # The same peer, registered as a generic OpenID provider at one tenant's issuer: no tid/oid rules then.
    registered = await register(
        provider,
        entra,
        admin_token,
        harbour,
        display_name="Harbour OIDC",
        kind="oidc",
        tenant=None,
        allowed_tenants=[],
        issuer=entra.authority_issuer(ALLOWED_TENANT),
        default_role="patient",
    )
    assert registered.status_code == 201, registered.text
    provider_id = uuid.UUID(registered.json()["id"])
    erin = person(mfa=False)
    entra.person = erin
    async with httpx.AsyncClient() as browser:
        answered = await federated_sign_in(provider, entra, provider_id, browser)
        assert answered.status_code == 303, answered.text
        assert answered.headers["location"].endswith("/signed-in")  # a patient owes no second factor
        session = await session_of(provider, browser)
    account = await user_by_email(provider, erin.email or "")
    assert session.user_id == account.id
    assert list(account.global_roles) == ["patient"]
    async with provider.runtime.sessionmaker() as db:
        subjects = list(
            await db.scalars(select(external_identities.c.subject).where(external_identities.c.user_id == account.id))
        )
    assert len(subjects) == 1
    assert ":" not in subjects[0]  # the pairwise sub, not tid:oid


async def memberships_of(provider: Provider, user_id: uuid.UUID) -> set[tuple[uuid.UUID, str]]:
    async with provider.runtime.sessionmaker() as db:
        rows = await db.execute(
            select(memberships.c.organisation_id, memberships.c.role).where(memberships.c.user_id == user_id)
        )
        return {(row.organisation_id, row.role) for row in rows}


async def access_token_in(provider: Provider, browser: httpx.AsyncClient) -> dict[str, Any]:
    """The web app's authorization in a browser already signed in: the claims of the access token it gets."""
    verifier = generate_token(64)
    async with web_client(provider) as client:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
        back = await browser.get(url)
        assert back.status_code == 302, back.text
        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=back.headers["location"], code_verifier=verifier
        )
    claims: dict[str, Any] = jwt.decode(token["access_token"], options={"verify_signature": False})
    return claims


# --- membership from the provider ---------------------------------------------------------------------------


async def test_a_first_sign_in_as_a_patient_joins_the_organisation_and_the_tokens_act_for_it(
    provider: Provider, entra: EntraIssuer, admin_token: str, harbour: uuid.UUID
) -> None:
    registered = await register(
        provider, entra, admin_token, harbour, display_name="Harbour patients", default_role="patient"
    )
    assert registered.status_code == 201, registered.text
    provider_id = uuid.UUID(registered.json()["id"])
    fay = person(mfa=False)
    entra.person = fay
    async with httpx.AsyncClient() as browser:
        answered = await federated_sign_in(provider, entra, provider_id, browser)
        assert answered.status_code == 303, answered.text
        claims = await access_token_in(provider, browser)
    user_id = await linked_user(provider, provider_id, fay)
    assert user_id is not None
    assert await memberships_of(provider, user_id) == {(harbour, "patient")}
    assert (claims["org"], claims["roles"]) == (str(harbour), ["patient"])
    [assigned] = await events(provider, "identity.role.assigned", user_id=str(user_id))
    assert (assigned["organisation_id"], assigned["role"]) == (str(harbour), "patient")
    assert await audit_records(
        provider, resource_type="identity.membership", resource_id=f"{harbour}:{user_id}", action="create"
    )


async def test_linking_an_existing_account_makes_it_a_member_with_the_providers_role(
    provider: Provider, entra: EntraIssuer, admin_token: str, harbour: uuid.UUID
) -> None:
    registered = await register(
        provider, entra, admin_token, harbour, display_name="Harbour staff", default_role="staff"
    )
    assert registered.status_code == 201, registered.text
    provider_id = uuid.UUID(registered.json()["id"])
    patient = await sign_in(provider, await create_person(provider))
    assert await memberships_of(provider, patient.user_id) == set()
    gus = person(f"{unique_name('gus-')}@{TRUSTED_DOMAIN}")
    entra.person = gus
    async with httpx.AsyncClient(cookies={SESSION_COOKIE: patient.session_cookie}) as browser:
        answered = await federated_sign_in(provider, entra, provider_id, browser)
        assert answered.status_code == 303, answered.text
    assert await linked_user(provider, provider_id, gus) == patient.user_id
    assert await memberships_of(provider, patient.user_id) == {(harbour, "staff")}
    assert await events(provider, "identity.role.assigned", user_id=str(patient.user_id), role="staff")


# --- changing and removing a registration ------------------------------------------------------------------


async def test_a_provider_is_read_changed_disabled_and_enabled_by_its_organisations_admins_only(
    provider: Provider, entra: EntraIssuer, admin_token: str, harbour: uuid.UUID
) -> None:
    registered = await register(provider, entra, admin_token, harbour, display_name="Harbour to change")
    assert registered.status_code == 201, registered.text
    provider_id = registered.json()["id"]
    path = f"/organisations/{harbour}/identity-providers/{provider_id}"
    shown = await call(provider, "GET", path, admin_token)
    assert shown.status_code == 200, shown.text
    assert (shown.json()["is_enabled"], shown.json()["updated_at"]) == (True, None)

    lindqvist = (await organisation_ids(provider))["lindqvist"]
    lindqvist_admin = (await sign_in(provider, "admin@lindqvist.demo.kairos.test")).access_token
    patient = (await sign_in(provider, await create_person(provider))).access_token
    for token in (lindqvist_admin, patient):
        for method in ("GET", "PATCH", "DELETE"):
            assert_problem(await call(provider, method, path, token, json={"display_name": "Mine"}), 403, "forbidden")
    elsewhere = f"/organisations/{lindqvist}/identity-providers/{provider_id}"
    assert_problem(await call(provider, "PATCH", elsewhere, admin_token, json={"display_name": "x"}), 403)
    assert_problem(await call(provider, "PATCH", elsewhere, lindqvist_admin, json={"display_name": "x"}), 404)
    unknown = f"/organisations/{harbour}/identity-providers/{uuid.uuid4()}"
    assert_problem(await call(provider, "PATCH", unknown, admin_token, json={"display_name": "x"}), 404)
    for bad in ({"default_role": "domain_admin"}, {"display_name": None}, {"tenant": "nope"}, {"issuer": "https://x"}):
        assert_problem(await call(provider, "PATCH", path, admin_token, json=bad), 422)

    changed = await call(
        provider,
        "PATCH",
        path,
        admin_token,
        json={"display_name": "Harbour changed", "allowed_email_domains": ["harbour-new.test"], "client_secret": "s2"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["display_name"], body["allowed_email_domains"]) == ("Harbour changed", ["harbour-new.test"])
    assert body["updated_at"] is not None
    assert "client_secret" not in body
    async with provider.runtime.sessionmaker() as session:
        stored = await session.scalar(
            select(identity_providers.c.client_secret).where(identity_providers.c.id == uuid.UUID(provider_id))
        )
    assert stored is not None
    assert b"s2" not in stored
    assert (
        await provider.runtime.cipher.decrypt(
            stored, context=f"identity.identity_providers.client_secret:{provider_id}".encode()
        )
        == b"s2"
    )
    [record] = await audit_records(
        provider, resource_type="identity.identity_provider", resource_id=provider_id, action="update"
    )
    assert set(record["fields"]) == {"allowed_email_domains", "client_secret", "display_name"}

    disabled = await call(provider, "PATCH", path, admin_token, json={"is_enabled": False})
    assert disabled.json()["is_enabled"] is False
    listed = await call(provider, "GET", f"/organisations/{harbour}/identity-providers", admin_token)
    assert [item["is_enabled"] for item in listed.json() if item["id"] == provider_id] == [False]
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(f"{provider.issuer}/federation/{provider_id}/start")).status_code == 404
        enabled = await call(provider, "PATCH", path, admin_token, json={"is_enabled": True})
        assert enabled.json()["is_enabled"] is True
        assert (await browser.get(f"{provider.issuer}/federation/{provider_id}/start")).status_code == 303


async def test_a_new_tenant_drops_the_links_and_removing_a_provider_keeps_its_accounts(
    provider: Provider, entra: EntraIssuer, admin_token: str, harbour: uuid.UUID
) -> None:
    registered = await register(provider, entra, admin_token, harbour, display_name="Harbour to remove")
    provider_id = uuid.UUID(registered.json()["id"])
    path = f"/organisations/{harbour}/identity-providers/{provider_id}"
    hana = person()
    entra.person = hana
    async with httpx.AsyncClient() as browser:
        assert (await federated_sign_in(provider, entra, provider_id, browser)).status_code == 303
    user_id = await linked_user(provider, provider_id, hana)
    assert user_id is not None

    # Another namespace of people: nobody there may sign in as an account linked at the old one.
    moved = await call(
        provider, "PATCH", path, admin_token, json={"tenant": ALLOWED_TENANT, "allowed_tenants": [ALLOWED_TENANT]}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["issuer"] == f"{entra.base}/{ALLOWED_TENANT}/v2.0"
    assert await linked_user(provider, provider_id, hana) is None
    async with provider.runtime.unit_of_work() as uow:  # linked again, to see the removal take the link too
        await uow.session.execute(
            external_identities.insert().values(
                provider_id=provider_id,
                subject=f"{hana.tenant_id}:{hana.object_id}",
                user_id=user_id,
                linked_at=provider.clock.now(),
            )
        )
        await uow.commit()

    removed = await call(provider, "DELETE", path, admin_token)
    assert removed.status_code == 204, removed.text
    assert_problem(await call(provider, "GET", path, admin_token), 404)
    assert_problem(await call(provider, "DELETE", path, admin_token), 404)
    assert await linked_user(provider, provider_id, hana) is None
    assert await memberships_of(provider, user_id) == {(harbour, "professional")}  # the account and its role stay
    assert await audit_records(
        provider, resource_type="identity.identity_provider", resource_id=str(provider_id), action="delete"
    )
    assert await audit_records(provider, resource_type="identity.account", resource_id=str(user_id), action="delete")
