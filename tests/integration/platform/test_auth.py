"""Access tokens on a real service: verified against the issuer's JWKS over HTTP, refused in every forged or
stale shape, keys rotated without downtime, and ``require`` answering 403 for what the caller lacks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.engine import URL

from kairos.platform.config import Settings
from kairos.platform.testing.issuer import SigningKey, TestIssuer
from tests.integration.platform.service_fixture import (
    API,
    Notebook,
    fresh_database_url,
    notebook_settings,
    running_notebook,
)

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"
ME = f"{API}/me"
ARCHIVE = f"{API}/archive"


@pytest.fixture(scope="module")
def settings(base_settings: Settings) -> Settings:
    return notebook_settings(base_settings)


@pytest.fixture(scope="module")
def database_url(database_prefix: str) -> URL:
    return fresh_database_url(database_prefix)


@pytest.fixture(scope="module")
async def notebook(settings: Settings, database_url: URL, issuer: TestIssuer) -> AsyncIterator[Notebook]:
    async with running_notebook(settings, database_url, issuer=issuer) as running:
        yield running


@pytest.fixture
def own_issuer() -> Iterator[TestIssuer]:
    """An issuer of the test's own, for tests that rotate keys or count JWKS fetches."""
    with TestIssuer() as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"].startswith("Bearer ")
    body = response.json()
    assert body["type"] == "urn:kairos:problem:unauthenticated"
    assert body["title"] == "Unauthorized"
    assert body["status"] == 401


# Forged and stale tokens


def segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def encoded_json(value: dict[str, Any]) -> str:
    return segment(json.dumps(value).encode())


def valid_claims(issuer: TestIssuer) -> dict[str, Any]:
    return jwt.decode(issuer.token(), options={"verify_signature": False})  # type: ignore[no-any-return]


def expired(issuer: TestIssuer) -> str:
    return issuer.token(expires_in=-120)  # beyond the 30 s clock-skew leeway


def for_another_audience(issuer: TestIssuer) -> str:
    return issuer.token(aud="billing")


def from_another_issuer(issuer: TestIssuer) -> str:
    return issuer.token(iss="https://evil.example/identity")


def without_a_subject(issuer: TestIssuer) -> str:
    return issuer.token(sub=None)


def unsigned_alg_none(issuer: TestIssuer) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": issuer.keys[-1].kid}
    return f"{encoded_json(header)}.{encoded_json(valid_claims(issuer))}."


def hs256_signed_with_the_public_key(issuer: TestIssuer) -> str:
    # Algorithm confusion: a verifier that let the token choose HMAC would check it with the public key.
    key = issuer.keys[-1]
    public_pem = key.private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = (
        f"{encoded_json({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{encoded_json(valid_claims(issuer))}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{segment(signature)}"


def with_a_tampered_payload(issuer: TestIssuer) -> str:
    header, _, signature = issuer.token(sub="patient-1").split(".")
    claims = valid_claims(issuer) | {"sub": "patient-1", "roles": ["admin"]}
    return f"{header}.{encoded_json(claims)}.{signature}"


def signed_by_a_key_not_in_the_jwks(issuer: TestIssuer) -> str:
    return issuer.token(key=SigningKey())


def signed_by_another_key_naming_a_published_kid(issuer: TestIssuer) -> str:
    impostor = SigningKey()
    impostor.kid = issuer.keys[-1].kid
    return issuer.token(key=impostor)


def not_a_jwt(issuer: TestIssuer) -> str:
    return "not-a-jwt"


@pytest.mark.parametrize(
    "forge",
    [
        expired,
        for_another_audience,
        from_another_issuer,
        without_a_subject,
        unsigned_alg_none,
        hs256_signed_with_the_public_key,
        with_a_tampered_payload,
        signed_by_a_key_not_in_the_jwks,
        signed_by_another_key_naming_a_published_kid,
        not_a_jwt,
    ],
)
async def test_a_token_that_is_not_a_valid_one_of_ours_is_refused(
    notebook: Notebook, issuer: TestIssuer, forge: Callable[[TestIssuer], str]
) -> None:
    response = await notebook.client.get(ME, headers=bearer(forge(issuer)))

    assert_unauthenticated(response)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_forged_token_is_refused_even_where_a_token_is_optional(notebook: Notebook, issuer: TestIssuer) -> None:
    response = await notebook.client.post(
        f"{API}/notes", json={"topic": "forged", "text": "hello"}, headers=bearer(with_a_tampered_payload(issuer))
    )

    assert_unauthenticated(response)
    assert await notebook.note_count("forged") == 0


# Valid and missing tokens


async def test_a_valid_token_identifies_the_caller(notebook: Notebook, issuer: TestIssuer) -> None:
    token = issuer.token(
        sub="professional-7",
        org="clinic-3",
        roles=["professional"],
        permissions=["appointments:decide", "calendar:read"],
        scope="openid notes.read",
    )

    response = await notebook.client.get(ME, headers=bearer(token))

    assert response.status_code == 200, response.text
    assert response.json() == {
        "subject": "professional-7",
        "client_id": "kairos-tests",
        "organisation_id": "clinic-3",
        "roles": ["professional"],
        "permissions": ["appointments:decide", "calendar:read"],
        "scopes": ["notes.read", "openid"],
    }


async def test_a_token_expired_within_the_clock_skew_leeway_is_accepted(notebook: Notebook, issuer: TestIssuer) -> None:
    response = await notebook.client.get(ME, headers=bearer(issuer.token(expires_in=-5)))

    assert response.status_code == 200


async def test_a_protected_route_without_a_token_asks_for_one(notebook: Notebook) -> None:
    response = await notebook.client.get(ME)

    assert_unauthenticated(response)
    assert response.headers["www-authenticate"] == 'Bearer realm="kairos"'


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   "])
async def test_an_authorization_that_is_not_a_bearer_token_is_refused(notebook: Notebook, authorization: str) -> None:
    response = await notebook.client.get(ME, headers={"Authorization": authorization})

    assert_unauthenticated(response)


# Key rotation and the JWKS cache


async def test_a_rotated_key_is_fetched_on_first_sight_and_the_old_key_keeps_working(
    settings: Settings, database_url: URL, own_issuer: TestIssuer
) -> None:
    async with running_notebook(settings, database_url, issuer=own_issuer, min_refresh_interval=0) as notebook:
        old_token = own_issuer.token(sub="before-rotation")
        assert (await notebook.client.get(ME, headers=bearer(old_token))).status_code == 200
        assert own_issuer.jwks_requests == 1

        new_key = own_issuer.rotate()
        new_token = own_issuer.token(sub="after-rotation")
        after = await notebook.client.get(ME, headers=bearer(new_token))
        old_again = await notebook.client.get(ME, headers=bearer(old_token))

    assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid
    assert after.status_code == 200
    assert after.json()["subject"] == "after-rotation"
    assert old_again.status_code == 200
    assert own_issuer.jwks_requests == 2


async def test_a_flood_of_unknown_kids_does_not_refetch_the_jwks_within_the_interval(
    settings: Settings, database_url: URL, own_issuer: TestIssuer
) -> None:
    forged = tokens_with_unknown_kids(own_issuer)

    async with running_notebook(settings, database_url, issuer=own_issuer, min_refresh_interval=60) as notebook:
        warm_up = await notebook.client.get(ME, headers=bearer(own_issuer.token()))
        concurrent = await asyncio.gather(*(notebook.client.get(ME, headers=bearer(token)) for token in forged))
        one_by_one = [await notebook.client.get(ME, headers=bearer(token)) for token in forged]

    assert warm_up.status_code == 200
    for response in [*concurrent, *one_by_one]:
        assert_unauthenticated(response)
    assert own_issuer.jwks_requests == 1


async def test_once_the_interval_has_passed_a_flood_of_unknown_kids_refetches_the_jwks_once(
    settings: Settings, database_url: URL, own_issuer: TestIssuer
) -> None:
    forged = tokens_with_unknown_kids(own_issuer)

    async with running_notebook(settings, database_url, issuer=own_issuer, min_refresh_interval=0.5) as notebook:
        warm_up = await notebook.client.get(ME, headers=bearer(own_issuer.token()))
        await asyncio.sleep(0.6)
        flood = await asyncio.gather(*(notebook.client.get(ME, headers=bearer(token)) for token in forged))

    assert warm_up.status_code == 200
    for response in flood:
        assert_unauthenticated(response)
    assert own_issuer.jwks_requests == 2


def tokens_with_unknown_kids(issuer: TestIssuer, count: int = 20) -> list[str]:
    impostor = SigningKey()
    tokens = []
    for _ in range(count):
        impostor.kid = uuid.uuid4().hex
        tokens.append(issuer.token(key=impostor))
    return tokens


async def test_a_token_cannot_be_checked_while_the_issuers_keys_are_unavailable(
    settings: Settings, database_url: URL, own_issuer: TestIssuer
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{unused.getsockname()[1]}/jwks"

    async with running_notebook(settings, database_url, issuer=own_issuer, jwks_url=nowhere) as notebook:
        response = await notebook.client.get(ME, headers=bearer(own_issuer.token()))

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "urn:kairos:problem:auth-unavailable"
    assert response.json()["status"] == 503


# Permissions, roles and scopes

EVERYTHING_THE_ARCHIVE_NEEDS: dict[str, Any] = {
    "permissions": ["notes:archive"],
    "roles": ["editor"],
    "scope": "notes.read",
}


async def test_a_caller_with_the_permissions_scopes_and_one_of_the_roles_is_let_through(
    notebook: Notebook, issuer: TestIssuer
) -> None:
    as_editor = issuer.token(**EVERYTHING_THE_ARCHIVE_NEEDS)
    as_owner = issuer.token(**EVERYTHING_THE_ARCHIVE_NEEDS | {"roles": ["owner", "patient"]})

    assert (await notebook.client.get(ARCHIVE, headers=bearer(as_editor))).json() == {"archive": "open"}
    assert (await notebook.client.get(ARCHIVE, headers=bearer(as_owner))).status_code == 200


@pytest.mark.parametrize(
    "lacking",
    [
        pytest.param({"permissions": ["notes:read"]}, id="permission"),
        pytest.param({"roles": ["patient"]}, id="role"),
        pytest.param({"roles": []}, id="any-role"),
        pytest.param({"scope": "openid"}, id="scope"),
    ],
)
async def test_a_caller_lacking_a_permission_role_or_scope_is_forbidden(
    notebook: Notebook, issuer: TestIssuer, lacking: dict[str, Any]
) -> None:
    token = issuer.token(**EVERYTHING_THE_ARCHIVE_NEEDS | lacking)

    response = await notebook.client.get(ARCHIVE, headers=bearer(token))

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "urn:kairos:problem:forbidden"
    assert response.json()["title"] == "Forbidden"
    assert response.json()["status"] == 403


async def test_a_guarded_route_without_a_token_is_unauthenticated_not_forbidden(notebook: Notebook) -> None:
    assert_unauthenticated(await notebook.client.get(ARCHIVE))
