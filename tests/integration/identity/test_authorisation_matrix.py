"""Every identity endpoint that takes a token, called by every role and against someone else's resources
(OWASP API1 broken object-level and API5 broken function-level authorisation): no leak, no escalation.
And forged or stale tokens of every kind refused with 401 (issue 4 §11).

Tokens come from the real flow (browser sign-in, authorization code + PKCE); forged ones are made from
a real token, re-signed with the provider's own key after one change, so each refusal is due to that change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from kairos.identity.domain.roles import Role
from kairos.identity.tables import browser_sessions, memberships, oauth_clients, users
from kairos.platform.testing.infrastructure import unique_name
from tests.integration.identity.conftest import (
    Provider,
    SignedIn,
    bearer,
    create_person,
    organisation_ids,
    sign_in,
)

pytestmark = pytest.mark.integration

ACTORS = {
    "patient": "patient@demo.kairos.test",
    "professional": "doctor@harbour.demo.kairos.test",
    "staff": "reception@harbour.demo.kairos.test",
    "domain_admin": "admin@harbour.demo.kairos.test",
    "domain_admin_elsewhere": "admin@lindqvist.demo.kairos.test",
    "operator": "operator@demo.kairos.test",
}
NOT_OPERATORS = [actor for actor in ACTORS if actor != "operator"]
VICTIM = "client@demo.kairos.test"  # another patient: the "someone else" whose resources are attacked


@dataclass(frozen=True)
class World:
    people: dict[str, SignedIn]
    victim: SignedIn
    target_id: uuid.UUID  # an account the admin calls act on
    organisations: dict[str, uuid.UUID]


@pytest.fixture(scope="module")
async def world(provider: Provider) -> World:
    people = {actor: await sign_in(provider, email) for actor, email in ACTORS.items()}
    victim = await sign_in(provider, VICTIM, user_agent="Victim's browser")
    target = await sign_in(provider, await create_person(provider))
    return World(people, victim, target.user_id, await organisation_ids(provider))


async def request(
    provider: Provider, method: str, path: str, *, token: str | None = None, json_body: Any = None
) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.request(
            method, f"{provider.issuer}{path}", headers=bearer(token) if token else {}, json=json_body
        )


async def state_of_accounts(provider: Provider) -> tuple[Any, ...]:
    """Everything an escalation would change: accounts, their roles, memberships, clients, sessions ended."""
    async with provider.runtime.sessionmaker() as session:
        return (
            (await session.execute(select(users.c.id, users.c.global_roles).order_by(users.c.id))).all(),
            (
                await session.execute(
                    select(memberships.c.user_id, memberships.c.organisation_id, memberships.c.role).order_by(
                        memberships.c.user_id, memberships.c.organisation_id, memberships.c.role
                    )
                )
            ).all(),
            await session.scalar(select(func.count()).select_from(oauth_clients)),
            await session.scalar(select(func.count()).where(browser_sessions.c.revoked_at.is_not(None))),
        )


# --- the admin API: operators only ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Callable[[World], Any] | None = None
    succeeds_with: int = 200

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ADMIN_CALLS = [
    Call(
        "POST",
        "/users",
        lambda _: {"email": f"{unique_name('m-')}@example.org", "display_name": "M", "roles": ["operator"]},
        201,
    ),
    Call("GET", "/users"),
    Call("GET", "/users/{target}"),
    Call("POST", "/users/{target}/roles", lambda _: {"role": "operator"}),
    Call(
        "POST",
        "/users/{target}/roles",
        lambda world: {"role": "domain_admin", "organisation_id": str(world.organisations["lindqvist"])},
    ),
    Call("DELETE", "/users/{target}/roles/operator"),
    Call(
        "POST",
        "/clients",
        lambda _: {"name": "Backdoor", "grant_types": ["client_credentials"], "scopes": ["system/*.write"]},
        201,
    ),
    Call("GET", "/clients"),
]


@pytest.mark.parametrize("call", ADMIN_CALLS, ids=str)
@pytest.mark.parametrize("actor", NOT_OPERATORS)
async def test_no_role_but_the_operator_reaches_the_admin_api(
    provider: Provider, world: World, actor: str, call: Call
) -> None:
    before = await state_of_accounts(provider)

    response = await request(
        provider,
        call.method,
        call.path.format(target=world.target_id),
        token=world.people[actor].access_token,
        json_body=call.body(world) if call.body else None,
    )

    assert response.status_code == 403, response.text
    assert response.json()["type"] == "urn:kairos:problem:forbidden"
    assert set(response.json()) <= {"type", "title", "status", "detail", "instance", "correlation_id"}
    for email in [*ACTORS.values(), VICTIM]:
        assert email not in response.text
    assert await state_of_accounts(provider) == before


@pytest.mark.parametrize("call", ADMIN_CALLS, ids=str)
async def test_the_operator_reaches_every_admin_call(provider: Provider, world: World, call: Call) -> None:
    response = await request(
        provider,
        call.method,
        call.path.format(target=world.target_id),
        token=world.people["operator"].access_token,
        json_body=call.body(world) if call.body else None,
    )
    assert response.status_code == call.succeeds_with, response.text
    assert "password_hash" not in response.text
    assert "secret_hash" not in response.text


@pytest.mark.parametrize("actor", NOT_OPERATORS)
async def test_nobody_grants_themselves_a_role(provider: Provider, world: World, actor: str) -> None:
    me = world.people[actor]
    attempts = [
        ("POST", {"role": "operator"}),
        ("POST", {"role": "domain_admin", "organisation_id": str(world.organisations["harbour"])}),
        ("POST", {"role": "domain_admin", "organisation_id": str(world.organisations["lindqvist"])}),
        ("POST", {"role": "professional", "organisation_id": str(world.organisations["lindqvist"])}),
    ]
    before = await state_of_accounts(provider)
    for method, body in attempts:
        response = await request(provider, method, f"/users/{me.user_id}/roles", token=me.access_token, json_body=body)
        assert response.status_code == 403, (body, response.text)
    assert await state_of_accounts(provider) == before

    async with httpx.AsyncClient() as client:
        refreshed = await client.post(
            provider.metadata["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": me.refresh_token,
                "client_id": provider.web_client_id,
            },
        )
    claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
    original = jwt.decode(me.access_token, options={"verify_signature": False})
    assert claims["roles"] == original["roles"]
    assert claims["permissions"] == original["permissions"]
    assert "users:manage" not in claims["permissions"]
    world.people[actor] = replace(me, refresh_token=refreshed.json()["refresh_token"])


async def test_a_domain_admin_assigns_no_role_in_another_organisation_nor_their_own(
    provider: Provider, world: World
) -> None:
    admin = world.people["domain_admin"]  # of the Harbour practice
    before = await state_of_accounts(provider)
    for organisation in ("lindqvist", "harbour"):
        for role in (Role.PROFESSIONAL, Role.STAFF, Role.DOMAIN_ADMIN):
            response = await request(
                provider,
                "POST",
                f"/users/{world.target_id}/roles",
                token=admin.access_token,
                json_body={"role": role.value, "organisation_id": str(world.organisations[organisation])},
            )
            assert response.status_code == 403, response.text
        response = await request(
            provider,
            "DELETE",
            f"/users/{world.people['domain_admin_elsewhere'].user_id}/roles/domain_admin"
            f"?organisation_id={world.organisations['lindqvist']}",
            token=admin.access_token,
        )
        assert response.status_code == 403
    assert await state_of_accounts(provider) == before


# --- sessions and userinfo: one's own only ----------------------------------------------------------------------


async def own_session_ids(provider: Provider, user_id: uuid.UUID) -> set[str]:
    async with provider.runtime.sessionmaker() as session:
        found = await session.scalars(select(browser_sessions.c.id).where(browser_sessions.c.user_id == user_id))
        return {str(session_id) for session_id in found}


async def victim_is_signed_in(provider: Provider, world: World) -> bool:
    async with provider.runtime.sessionmaker() as session:
        revoked = await session.scalar(
            select(browser_sessions.c.revoked_at).where(browser_sessions.c.id == world.victim.session_id)
        )
    listed = await request(provider, "GET", "/me/sessions", token=world.victim.access_token)
    return revoked is None and str(world.victim.session_id) in {item["id"] for item in listed.json()["items"]}


@pytest.mark.parametrize("actor", list(ACTORS))
async def test_everyone_sees_their_own_sessions_and_claims_only(provider: Provider, world: World, actor: str) -> None:
    me = world.people[actor]

    listed = await request(provider, "GET", "/me/sessions", token=me.access_token)
    info = await request(provider, "GET", "/userinfo", token=me.access_token)

    assert listed.status_code == 200, listed.text
    ids = {item["id"] for item in listed.json()["items"]}
    assert str(me.session_id) in ids
    assert ids <= await own_session_ids(provider, me.user_id)
    assert str(world.victim.session_id) not in ids
    assert info.json()["sub"] == str(me.user_id)


@pytest.mark.parametrize("actor", list(ACTORS))
async def test_nobody_signs_out_someone_elses_session(provider: Provider, world: World, actor: str) -> None:
    me = world.people[actor]

    response = await request(provider, "DELETE", f"/me/sessions/{world.victim.session_id}", token=me.access_token)

    assert response.status_code == 404, response.text
    assert await victim_is_signed_in(provider, world)


@pytest.mark.parametrize("role", [Role.PATIENT, Role.PROFESSIONAL, Role.STAFF, Role.DOMAIN_ADMIN, Role.OPERATOR])
async def test_signing_out_everywhere_ends_ones_own_sessions_only(provider: Provider, world: World, role: Role) -> None:
    email = await create_person(provider, role, organisation="harbour" if role.is_organisational else None)
    me = await sign_in(provider, email)

    response = await request(provider, "DELETE", "/me/sessions", token=me.access_token)

    assert response.status_code == 204
    assert await victim_is_signed_in(provider, world)
    for person in world.people.values():
        listed = await request(provider, "GET", "/me/sessions", token=person.access_token)
        assert listed.status_code == 200


async def test_a_clients_token_is_no_ones_and_manages_nothing(provider: Provider, world: World) -> None:
    async with AsyncOAuth2Client(
        client_id=provider.service_client_id, client_secret=provider.service_client_secret, scope="system/*.read"
    ) as service:
        token = (await service.fetch_token(provider.metadata["token_endpoint"], grant_type="client_credentials"))[
            "access_token"
        ]
    before = await state_of_accounts(provider)
    for call in ADMIN_CALLS:
        response = await request(
            provider,
            call.method,
            call.path.format(target=world.target_id),
            token=token,
            json_body=call.body(world) if call.body else None,
        )
        assert response.status_code == 403, (str(call), response.text)
    for method, path in (("GET", "/me/sessions"), ("DELETE", f"/me/sessions/{world.victim.session_id}")):
        assert (await request(provider, method, path, token=token)).status_code == 403
    assert await state_of_accounts(provider) == before
    assert await victim_is_signed_in(provider, world)


TOKEN_ENDPOINTS = [
    ("GET", "/userinfo"),
    ("GET", "/me/sessions"),
    ("DELETE", "/me/sessions"),
    ("DELETE", "/me/sessions/{session}"),
    *[(call.method, call.path) for call in ADMIN_CALLS],
]


@pytest.mark.parametrize(("method", "path"), TOKEN_ENDPOINTS)
async def test_without_a_token_every_endpoint_answers_401(
    provider: Provider, world: World, method: str, path: str
) -> None:
    response = await request(provider, method, path.format(target=world.target_id, session=world.victim.session_id))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


# --- forged and stale tokens --------------------------------------------------------------------------------------


def segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def resign(provider: Provider, claims: dict[str, Any], **headers: Any) -> str:
    """Sign claims with the provider's own current key, as its token generator does."""
    key = provider.identity.keys.current
    return jwt.encode(claims, key.private_pem, algorithm=key.algorithm, headers={"kid": key.kid, **headers})


@pytest.fixture(scope="module")
def forgeries(provider: Provider, world: World) -> dict[str, str]:
    """Each kind of forged or stale token, made once from the operator's and the patient's real tokens."""
    operator = world.people["operator"]
    patient = world.people["patient"]
    claims = claims_of(operator.access_token)
    now = int(time.time())
    our_kid = provider.identity.keys.current.kid
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published = next(key for key in provider.identity.keys.jwks()["keys"] if key["kid"] == our_kid)
    public_pem = jwt.PyJWK(published).key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    header, _, signature = patient.access_token.split(".")
    escalated = {**claims_of(patient.access_token), "roles": ["operator"], "permissions": ["users:manage"]}
    unsigned_header = segment(json.dumps({"alg": "none", "typ": "JWT", "kid": our_kid}).encode())
    hs_header = segment(json.dumps({"alg": "HS256", "typ": "JWT", "kid": our_kid}).encode())
    hs_payload = segment(json.dumps(claims).encode())
    hs_signature = segment(hmac.new(public_pem, f"{hs_header}.{hs_payload}".encode(), hashlib.sha256).digest())
    return {
        "tampered payload": f"{header}.{segment(json.dumps(escalated).encode())}.{signature}",
        "expired": resign(provider, {**claims, "iat": now - 1200, "exp": now - 600}),
        "wrong audience": resign(provider, {**claims, "aud": "another-api"}),
        "wrong issuer": resign(provider, {**claims, "iss": "http://127.0.0.1:9/api/v1/identity"}),
        "no subject": resign(provider, {k: v for k, v in claims.items() if k != "sub"}),
        "ID token": operator.id_token,  # signed by the provider, but for the client, not the API
        "alg none": f"{unsigned_header}.{segment(json.dumps(claims).encode())}.",
        "HS256 with the public key": f"{hs_header}.{hs_payload}.{hs_signature}",
        "another key under our kid": jwt.encode(claims, stranger_key, algorithm="RS256", headers={"kid": our_kid}),
        "unknown kid": jwt.encode(claims, stranger_key, algorithm="RS256", headers={"kid": uuid.uuid4().hex}),
        "no kid": jwt.encode(claims, provider.identity.keys.current.private_pem, algorithm="RS256"),
        "garbage": "not.a.token",
    }


FORGERIES = [
    "tampered payload",
    "expired",
    "wrong audience",
    "wrong issuer",
    "no subject",
    "ID token",
    "alg none",
    "HS256 with the public key",
    "another key under our kid",
    "unknown kid",
    "no kid",
    "garbage",
]
PROBED = [("GET", "/userinfo"), ("GET", "/me/sessions"), ("GET", "/users"), ("POST", "/users/{target}/roles")]


async def test_a_real_token_re_signed_unchanged_is_accepted(provider: Provider, world: World) -> None:
    """The control for the forgeries below: re-signing alone changes nothing."""
    token = resign(provider, claims_of(world.people["operator"].access_token))
    for method, path in PROBED:
        body = {"role": "patient"} if method == "POST" else None
        response = await request(provider, method, path.format(target=world.target_id), token=token, json_body=body)
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize("forgery", FORGERIES)
@pytest.mark.parametrize(("method", "path"), PROBED)
async def test_a_forged_or_stale_token_is_refused_with_401(
    provider: Provider, world: World, forgeries: dict[str, str], forgery: str, method: str, path: str
) -> None:
    token = forgeries[forgery]
    before = await state_of_accounts(provider)

    body = {"role": "operator"} if method == "POST" else None
    response = await request(provider, method, path.format(target=world.target_id), token=token, json_body=body)

    assert response.status_code == 401, response.text
    assert response.json()["type"] == "urn:kairos:problem:unauthenticated"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert await state_of_accounts(provider) == before


async def test_a_revoked_token_is_refused_at_once(provider: Provider, world: World) -> None:
    operator = await sign_in(provider, ACTORS["operator"])
    async with httpx.AsyncClient() as client:
        revoked = await client.post(
            provider.metadata["revocation_endpoint"],
            data={
                "token": operator.access_token,
                "token_type_hint": "access_token",
                "client_id": provider.web_client_id,
            },
        )
    assert revoked.status_code == 200
    for method, path in PROBED:
        body = {"role": "operator"} if method == "POST" else None
        response = await request(
            provider, method, path.format(target=world.target_id), token=operator.access_token, json_body=body
        )
        assert response.status_code == 401, (path, response.text)
