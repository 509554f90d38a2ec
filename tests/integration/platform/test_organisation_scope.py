"""``require(..., organisation_param=...)`` on a real route, with tokens verified against the test issuer's JWKS:
the permission must be held in the organisation the path names, through the token's ``org`` or a global role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI

from kairos.platform.auth import require
from kairos.platform.auth.tokens import JwksCache, TokenVerifier
from kairos.platform.http import problems
from kairos.platform.testing.issuer import TestIssuer

pytestmark = pytest.mark.integration

HARBOUR = str(uuid.uuid4())
LINDQVIST = str(uuid.uuid4())


@pytest.fixture
async def client(issuer: TestIssuer) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    problems.install(app)
    app.state.token_verifier = TokenVerifier(
        issuer=issuer.issuer, audience="kairos", jwks=JwksCache(issuer.jwks_url, max_age=300)
    )
    members = require(permissions=["members:read"], organisation_param="organisation_id")

    @app.get("/organisations/{organisation_id}/members", dependencies=[Depends(members)])
    async def list_members(organisation_id: str) -> dict[str, str]:
        return {"organisation": organisation_id}

    @app.get("/members", dependencies=[Depends(members)])
    async def list_members_by_query() -> dict[str, str]:
        return {}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as running:
        yield running


async def status(client: httpx.AsyncClient, path: str, token: str, **params: str) -> int:
    response = await client.get(path, headers={"Authorization": f"Bearer {token}"}, params=params)
    if response.status_code != 200:
        assert response.headers["content-type"] == "application/problem+json"
    return response.status_code


async def test_a_token_acts_in_its_own_organisation_only(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    harbour_admin = issuer.token(sub="admin", roles=["domain_admin"], permissions=["members:read"], org=HARBOUR)

    assert await status(client, f"/organisations/{HARBOUR}/members", harbour_admin) == 200
    assert await status(client, f"/organisations/{HARBOUR.upper()}/members", harbour_admin) == 200
    assert await status(client, f"/organisations/{LINDQVIST}/members", harbour_admin) == 403
    assert await status(client, "/members", harbour_admin, organisation_id=HARBOUR) == 200
    assert await status(client, "/members", harbour_admin, organisation_id=LINDQVIST) == 403
    assert await status(client, "/members", harbour_admin) == 403  # no organisation named: refused


async def test_a_permission_held_globally_reaches_every_organisation(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    operator = issuer.token(
        sub="op", roles=["operator"], permissions=["members:read"], global_permissions=["members:read"]
    )
    assert await status(client, f"/organisations/{HARBOUR}/members", operator) == 200
    assert await status(client, f"/organisations/{LINDQVIST}/members", operator) == 200


async def test_escalation_attempts_are_refused(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    # A global claim the permissions do not also carry, a permission without an organisation, none at all.
    forged_global = issuer.token(sub="x", permissions=[], global_permissions=["members:read"], org=HARBOUR)
    no_organisation = issuer.token(sub="x", permissions=["members:read"])
    patient = issuer.token(sub="x", roles=["patient"], permissions=["appointments:request"], org=HARBOUR)
    for token in (forged_global, no_organisation, patient):
        assert await status(client, f"/organisations/{HARBOUR}/members", token) == 403
    assert (await client.get(f"/organisations/{HARBOUR}/members")).status_code == 401
