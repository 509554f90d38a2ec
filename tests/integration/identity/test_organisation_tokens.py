"""A person in two organisations: each session acts for one (``organisation`` at /authorize, by default the first
joined), its tokens carry that organisation's roles and permissions only, a refresh keeps it, and identity's own
organisation routes refuse a token for another organisation (issue 4 §8)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from sqlalchemy import insert

from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.domain.roles import Role
from kairos.identity.service import create_user
from kairos.identity.sessions import SESSION_COOKIE
from kairos.identity.tables import memberships
from kairos.platform.testing.infrastructure import unique_name
from tests.integration.identity.conftest import (
    Provider,
    create_person,
    organisation_ids,
    sign_in,
    sign_in_and_authorize,
    web_client,
)
from tests.integration.identity.records import assert_problem, call

pytestmark = pytest.mark.integration


def claims_of(token: str) -> dict[str, Any]:
    found: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return found


async def tokens_for(provider: Provider, email: str, organisation: uuid.UUID | str | None) -> dict[str, Any]:
    """Sign in through the web client, asking to act for ``organisation`` (None: the default)."""
    verifier = generate_token(64)
    extra = {} if organisation is None else {"organisation": str(organisation)}
    async with web_client(provider) as client, httpx.AsyncClient() as browser:
        url, _ = client.create_authorization_url(
            provider.metadata["authorization_endpoint"], code_verifier=verifier, **extra
        )
        callback = await sign_in_and_authorize(provider, browser, url, email)
        token: dict[str, Any] = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
    return token


@pytest.fixture(scope="module")
async def two_practices(provider: Provider) -> tuple[str, uuid.UUID, uuid.UUID]:
    """A professional at Harbour who became a domain admin at Lindqvist later: e-mail, then the two ids."""
    ids = await organisation_ids(provider)
    email = f"{unique_name('two-practices-')}@example.org"
    async with provider.runtime.unit_of_work() as uow:
        user_id = await create_user(
            uow=uow,
            email=email,
            password=DEMO_PASSWORD,
            display_name="Two Practices",
            roles=frozenset({Role.PROFESSIONAL}),
            organisation_id=ids["harbour"],
            email_verified=True,
        )
        await uow.commit()
    async with provider.runtime.unit_of_work() as uow:  # joined later: Harbour stays the first
        await uow.session.execute(
            insert(memberships).values(user_id=user_id, organisation_id=ids["lindqvist"], role="domain_admin")
        )
        await uow.commit()
    return email, ids["harbour"], ids["lindqvist"]


async def test_a_token_carries_the_roles_of_the_organisation_it_acts_for_only(
    provider: Provider, two_practices: tuple[str, uuid.UUID, uuid.UUID]
) -> None:
    email, harbour, lindqvist = two_practices

    default = claims_of((await tokens_for(provider, email, None))["access_token"])
    assert (default["org"], default["roles"]) == (str(harbour), ["professional"])  # the first joined
    assert "professionals:submit" in default["permissions"]
    assert "roles:manage" not in default["permissions"]
    assert default["global_permissions"] == []

    chosen = claims_of((await tokens_for(provider, email, lindqvist))["access_token"])
    assert (chosen["org"], chosen["roles"]) == (str(lindqvist), ["domain_admin"])
    assert "roles:manage" in chosen["permissions"]
    assert "professionals:submit" not in chosen["permissions"]


async def test_a_refresh_keeps_the_organisation_whatever_it_asks(
    provider: Provider, two_practices: tuple[str, uuid.UUID, uuid.UUID]
) -> None:
    email, harbour, lindqvist = two_practices
    issued = await tokens_for(provider, email, lindqvist)
    async with httpx.AsyncClient() as client:
        refreshed = await client.post(
            provider.metadata["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": issued["refresh_token"],
                "client_id": provider.web_client_id,
                "organisation": str(harbour),  # not a parameter of the token endpoint: ignored
            },
        )
    assert refreshed.status_code == 200, refreshed.text
    claims = claims_of(refreshed.json()["access_token"])
    assert (claims["org"], claims["roles"]) == (str(lindqvist), ["domain_admin"])


async def test_a_session_for_one_organisation_does_nothing_in_the_other(
    provider: Provider, two_practices: tuple[str, uuid.UUID, uuid.UUID]
) -> None:
    email, harbour, lindqvist = two_practices
    for_harbour = (await tokens_for(provider, email, harbour))["access_token"]
    for_lindqvist = (await tokens_for(provider, email, lindqvist))["access_token"]

    # The person is a domain admin at Lindqvist, but this session acts for Harbour.
    assert_problem(await call(provider, "GET", f"/organisations/{lindqvist}/members", for_harbour), 403, "forbidden")
    someone = uuid.uuid4()
    refused = await call(provider, "PUT", f"/organisations/{lindqvist}/members/{someone}/roles/staff", for_harbour)
    assert_problem(refused, 403, "forbidden")
    assert_problem(await call(provider, "GET", f"/organisations/{lindqvist}/identity-providers", for_harbour), 403)
    assert_problem(await call(provider, "GET", f"/organisations/{lindqvist}/professionals", for_harbour), 403)
    assert (await call(provider, "GET", f"/organisations/{lindqvist}/professionals", for_lindqvist)).status_code == 200
    assert (await call(provider, "GET", f"/organisations/{lindqvist}/members", for_lindqvist)).status_code == 200
    # Nor does the Lindqvist session give the admin anything at Harbour, where they are a professional.
    assert_problem(await call(provider, "GET", f"/organisations/{harbour}/members", for_lindqvist), 403)

    listed = await call(provider, "GET", "/me/organisations", for_lindqvist)
    assert listed.status_code == 200, listed.text
    assert [(item["organisation_id"], item["roles"], item["is_acting"]) for item in listed.json()] == [
        (str(harbour), ["professional"], False),
        (str(lindqvist), ["domain_admin"], True),
    ]


async def test_an_operator_acts_in_every_organisation_through_the_global_role(provider: Provider) -> None:
    ids = await organisation_ids(provider)
    operator = await sign_in(provider, "operator@demo.kairos.test")
    claims = claims_of(operator.access_token)
    assert "roles:manage" in claims["global_permissions"]
    for organisation in ids.values():
        assert (
            await call(provider, "GET", f"/organisations/{organisation}/members", operator.access_token)
        ).status_code == 200


@pytest.mark.parametrize("asked", ["not-a-uuid", "lindqvist", "unknown"])
async def test_an_organisation_the_person_is_not_a_member_of_is_refused_at_authorization(
    provider: Provider, asked: str
) -> None:
    ids = await organisation_ids(provider)
    organisation = {"lindqvist": str(ids["lindqvist"]), "unknown": str(uuid.uuid4())}.get(asked, asked)
    doctor = await sign_in(provider, await create_person(provider, Role.PATIENT))  # a member of nothing
    verifier = generate_token(64)
    async with (
        web_client(provider) as client,
        httpx.AsyncClient(cookies={SESSION_COOKIE: doctor.session_cookie}) as browser,
    ):
        url, state = client.create_authorization_url(
            provider.metadata["authorization_endpoint"], code_verifier=verifier, organisation=organisation
        )
        answered = await browser.get(url)
    assert answered.status_code == 302, answered.text
    query = parse_qs(urlsplit(answered.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [state]
    assert query["iss"] == [provider.issuer]
    assert "code" not in query
