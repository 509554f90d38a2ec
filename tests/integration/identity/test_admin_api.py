"""The operator's API over real HTTP: accounts, roles assigned at run time and carried by the next token,
OAuth clients whose secret is shown once; ``Idempotency-Key`` on the creating POSTs; nothing secret comes out."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import func, select

from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.tables import oauth_clients, users
from kairos.platform.db.schema import outbox
from kairos.platform.testing.infrastructure import unique_name
from tests.integration.identity.conftest import Provider, SignedIn, bearer, organisation_ids, sign_in
from tests.integration.identity.records import has_address

pytestmark = pytest.mark.integration

OPERATOR = "operator@demo.kairos.test"


@pytest.fixture(scope="module")
async def operator(provider: Provider) -> SignedIn:
    return await sign_in(provider, OPERATOR)


def new_email() -> str:
    return f"{unique_name('admin-api-')}@example.org"


async def call(
    provider: Provider,
    method: str,
    path: str,
    token: str,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.request(
            method, f"{provider.issuer}{path}", headers={**bearer(token), **(headers or {})}, json=json, params=params
        )


async def refreshed_claims(provider: Provider, person: SignedIn) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            provider.metadata["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": person.refresh_token,
                "client_id": provider.web_client_id,
            },
        )
    assert response.status_code == 200, response.text
    claims: dict[str, Any] = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    return claims


async def test_an_operator_creates_an_account_that_can_then_sign_in(provider: Provider, operator: SignedIn) -> None:
    email = new_email()
    created = await call(
        provider,
        "POST",
        "/users",
        operator.access_token,
        json={
            "email": email.upper(),
            "display_name": "Noor",
            "roles": ["patient"],
            "password": DEMO_PASSWORD,
            "is_email_verified": True,  # the operator vouches for the address; otherwise the person confirms it
        },
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == email
    assert body["roles"] == ["patient"]
    assert body["memberships"] == []
    assert created.headers["location"] == f"/api/v1/identity/users/{body['id']}"
    assert "password" not in created.text
    assert "argon2" not in created.text
    read = await call(provider, "GET", f"/users/{body['id']}", operator.access_token)
    assert read.json() == body

    person = await sign_in(provider, email)
    assert str(person.user_id) == body["id"]
    async with provider.runtime.sessionmaker() as session:
        stored = await session.scalar(select(users.c.password_hash).where(await has_address(provider, email)))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    async with provider.runtime.sessionmaker() as session:
        published = (
            await session.execute(select(outbox.c.data).where(outbox.c.type == "identity.user.registered"))
        ).scalars()
    assert {"user_id": body["id"], "roles": ["patient"]}.items() <= next(
        data for data in published if data["user_id"] == body["id"]
    ).items()


async def test_a_professional_is_created_inside_an_organisation(provider: Provider, operator: SignedIn) -> None:
    harbour = (await organisation_ids(provider))["harbour"]
    created = await call(
        provider,
        "POST",
        "/users",
        operator.access_token,
        json={
            "email": new_email(),
            "display_name": "Dr. New",
            "roles": ["professional"],
            "organisation_id": str(harbour),
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["roles"] == []
    assert created.json()["memberships"] == [{"organisation_id": str(harbour), "role": "professional"}]


@pytest.mark.parametrize(
    ("change", "status", "problem"),
    [
        ({"roles": ["professional"]}, 422, "validation"),  # an organisational role needs an organisation
        ({"roles": ["patient"], "organisation_id": "harbour"}, 422, "validation"),  # a global one takes none
        ({"roles": ["professional"], "organisation_id": "unknown"}, 422, "unknown-organisation"),
        ({"roles": ["wizard"]}, 422, "validation"),
        ({"roles": []}, 422, "validation"),
        ({"email": "not an address"}, 422, "validation"),
        ({"password": "password123"}, 422, "password-not-accepted"),
        ({"email": OPERATOR}, 409, "account-exists"),
        ({"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$x$y"}, 422, "validation"),  # no smuggled fields
    ],
)
async def test_an_account_the_rules_forbid_is_refused(
    provider: Provider, operator: SignedIn, change: dict[str, Any], status: int, problem: str
) -> None:
    organisations = await organisation_ids(provider)
    if change.get("organisation_id") == "harbour":
        change = {**change, "organisation_id": str(organisations["harbour"])}
    if change.get("organisation_id") == "unknown":
        change = {**change, "organisation_id": str(uuid.uuid4())}
    body = {"email": new_email(), "display_name": "Refused", "roles": ["patient"], **change}

    refused = await call(provider, "POST", "/users", operator.access_token, json=body)

    assert refused.status_code == status, refused.text
    assert refused.json()["type"] == f"urn:kairos:problem:{problem}"
    assert "password123" not in refused.text
    async with provider.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(await has_address(provider, body["email"]))) == (
            1 if problem == "account-exists" else 0
        )


async def test_accounts_are_listed_a_page_at_a_time_and_found_by_email(provider: Provider, operator: SignedIn) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await call(provider, "GET", "/users", operator.access_token, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    async with provider.runtime.sessionmaker() as session:
        every_account = [str(user_id) for user_id in await session.scalars(select(users.c.id).order_by(users.c.id))]
    assert seen == every_account

    found = await call(provider, "GET", "/users", operator.access_token, params={"email": " Operator@Demo.Kairos.Test"})
    assert [item["email"] for item in found.json()["items"]] == [OPERATOR]
    assert "password" not in found.text


async def test_a_role_assigned_at_run_time_is_in_the_next_token_and_gone_once_removed(
    provider: Provider, operator: SignedIn
) -> None:
    lindqvist = (await organisation_ids(provider))["lindqvist"]
    email = new_email()
    created = await call(
        provider,
        "POST",
        "/users",
        operator.access_token,
        json={
            "email": email,
            "display_name": "Sam",
            "roles": ["patient"],
            "password": DEMO_PASSWORD,
            "is_email_verified": True,
        },
    )
    user_id = created.json()["id"]
    person = await sign_in(provider, email)

    assigned = await call(
        provider,
        "POST",
        f"/users/{user_id}/roles",
        operator.access_token,
        json={"role": "staff", "organisation_id": str(lindqvist)},
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["memberships"] == [{"organisation_id": str(lindqvist), "role": "staff"}]
    again = await call(
        provider,
        "POST",
        f"/users/{user_id}/roles",
        operator.access_token,
        json={"role": "staff", "organisation_id": str(lindqvist)},
    )
    assert again.json() == assigned.json()  # assigning a role held already changes nothing

    claims = await refreshed_claims(provider, person)
    assert claims["roles"] == ["patient", "staff"]
    assert claims["org"] == str(lindqvist)
    assert "appointments:book_for" in claims["permissions"]

    removed = await call(
        provider,
        "DELETE",
        f"/users/{user_id}/roles/staff",
        operator.access_token,
        params={"organisation_id": str(lindqvist)},
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["memberships"] == []
    person = await sign_in(provider, email)
    claims = await refreshed_claims(provider, person)
    assert claims["roles"] == ["patient"]
    assert "org" not in claims
    assert "appointments:book_for" not in claims["permissions"]

    global_role = await call(
        provider, "POST", f"/users/{user_id}/roles", operator.access_token, json={"role": "operator"}
    )
    assert global_role.json()["roles"] == ["operator", "patient"]
    dropped = await call(provider, "DELETE", f"/users/{user_id}/roles/operator", operator.access_token)
    assert dropped.json()["roles"] == ["patient"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "problem"),
    [
        ("POST", "/users/{unknown}/roles", {"role": "patient"}, 404, "not-found"),
        ("DELETE", "/users/{unknown}/roles/patient", None, 404, "not-found"),
        ("GET", "/users/{unknown}", None, 404, "not-found"),
        ("POST", "/users/{me}/roles", {"role": "staff"}, 422, "validation"),  # needs an organisation
        ("POST", "/users/{me}/roles", {"role": "operator", "organisation_id": "{harbour}"}, 422, "validation"),
        ("POST", "/users/{me}/roles", {"role": "staff", "organisation_id": "{unknown}"}, 422, "unknown-organisation"),
        ("POST", "/users/{me}/roles", {"role": "superuser"}, 422, "validation"),
        ("DELETE", "/users/{me}/roles/staff", None, 422, "invalid-role-assignment"),  # in which organisation?
        ("DELETE", "/users/{me}/roles/superuser", None, 422, "validation"),
        ("GET", "/users/not-a-uuid", None, 422, "validation"),
    ],
)
async def test_role_changes_that_cannot_be_are_refused(
    provider: Provider,
    operator: SignedIn,
    method: str,
    path: str,
    body: dict[str, str] | None,
    status: int,
    problem: str,
) -> None:
    values = {
        "unknown": str(uuid.uuid4()),
        "me": str(operator.user_id),
        "harbour": str((await organisation_ids(provider))["harbour"]),
    }
    filled = None if body is None else {key: value.format(**values) for key, value in body.items()}
    refused = await call(provider, method, path.format(**values), operator.access_token, json=filled)
    assert refused.status_code == status, refused.text
    assert refused.json()["type"] == f"urn:kairos:problem:{problem}"


async def test_a_service_client_is_registered_its_secret_shown_once_and_it_gets_tokens(
    provider: Provider, operator: SignedIn
) -> None:
    created = await call(
        provider,
        "POST",
        "/clients",
        operator.access_token,
        json={"name": "Billing export", "grant_types": ["client_credentials"], "scopes": ["system/*.read"]},
    )

    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["client_secret"]
    assert len(secret) >= 40
    assert body["is_public"] is False
    assert body["scopes"] == ["system/*.read"]
    async with AsyncOAuth2Client(client_id=body["client_id"], client_secret=secret, scope="system/*.read") as client:
        token = await client.fetch_token(provider.metadata["token_endpoint"], grant_type="client_credentials")
    assert jwt.decode(token["access_token"], options={"verify_signature": False})["sub"] == body["client_id"]

    listed: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await call(provider, "GET", "/clients", operator.access_token, params=params)
        listed += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    mine = [item for item in listed if item["client_id"] == body["client_id"]]
    assert mine == [{key: value for key, value in body.items() if key != "client_secret"}]
    async with provider.runtime.sessionmaker() as session:
        digest = await session.scalar(
            select(oauth_clients.c.secret_hash).where(oauth_clients.c.client_id == body["client_id"])
        )
    assert digest is not None
    assert secret not in digest
    assert digest not in created.text
    for item in listed:
        assert "client_secret" not in item
        assert "secret_hash" not in item


async def test_a_public_client_has_no_secret(provider: Provider, operator: SignedIn) -> None:
    created = await call(
        provider,
        "POST",
        "/clients",
        operator.access_token,
        json={
            "name": "Mobile app",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": ["app.kairos.mobile:/callback"],
            "is_public": True,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["client_secret"] is None
    assert created.json()["is_public"] is True


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"grant_types": ["password"]}, "invalid-client"),
        ({"grant_types": ["implicit"]}, "invalid-client"),
        ({"grant_types": ["authorization_code"]}, "invalid-client"),  # no redirect URI
        ({"grant_types": ["client_credentials"], "is_public": True}, "invalid-client"),
        ({"grant_types": ["authorization_code"], "redirect_uris": ["https://app.example/cb#x"]}, "validation"),
        ({"grant_types": ["authorization_code"], "redirect_uris": ["/relative"]}, "validation"),
        ({"grant_types": ["client_credentials"], "client_id": "chosen"}, "validation"),
    ],
)
async def test_a_client_the_profile_forbids_is_refused(
    provider: Provider, operator: SignedIn, change: dict[str, Any], problem: str
) -> None:
    refused = await call(provider, "POST", "/clients", operator.access_token, json={"name": "Bad", **change})
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == f"urn:kairos:problem:{problem}"


async def test_an_idempotency_key_creates_one_account_and_replays_the_answer(
    provider: Provider, operator: SignedIn
) -> None:
    email = new_email()
    body = {"email": email, "display_name": "Once", "roles": ["patient"]}
    key = {"Idempotency-Key": unique_name("create-user-")}

    first = await call(provider, "POST", "/users", operator.access_token, json=body, headers=key)
    replayed = await call(provider, "POST", "/users", operator.access_token, json=body, headers=key)
    other_body = await call(
        provider, "POST", "/users", operator.access_token, json={**body, "display_name": "Twice"}, headers=key
    )

    assert first.status_code == replayed.status_code == 201
    assert replayed.json() == first.json()
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.headers["location"] == first.headers["location"]
    assert other_body.status_code == 422
    assert other_body.json()["type"] == "urn:kairos:problem:idempotency-key-reused"
    async with provider.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(await has_address(provider, email))) == 1

    # The same key from another caller is that caller's own: a patient gets no operator's stored answer.
    patient = await sign_in(provider, "patient@demo.kairos.test")
    stranger = await call(provider, "POST", "/users", patient.access_token, json=body, headers=key)
    assert stranger.status_code == 403
    assert "idempotent-replayed" not in stranger.headers
    assert email not in stranger.text


async def test_an_idempotency_key_registers_one_client(provider: Provider, operator: SignedIn) -> None:
    body = {"name": unique_name("Reporting "), "grant_types": ["client_credentials"]}
    key = {"Idempotency-Key": unique_name("create-client-")}

    first = await call(provider, "POST", "/clients", operator.access_token, json=body, headers=key)
    replayed = await call(provider, "POST", "/clients", operator.access_token, json=body, headers=key)

    assert first.status_code == replayed.status_code == 201
    assert replayed.json() == first.json()  # the same client and secret, not a second client
    assert replayed.headers["idempotent-replayed"] == "true"
    async with provider.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(oauth_clients.c.name == body["name"])) == 1
