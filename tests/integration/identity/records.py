"""What the profile, role and consent tests read besides the API: the events in identity's outbox (audit
records among them) and raw rows, as a database reader would see them."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import ColumnElement, select

from kairos.identity.repository import email_lookup
from kairos.identity.tables import users
from kairos.platform.db.schema import outbox
from tests.integration.identity.conftest import Provider, bearer


async def call(
    provider: Provider, method: str, path: str, token: str | None = None, *, json: Any = None, **params: Any
) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.request(
            method,
            f"{provider.issuer}{path}",
            headers=bearer(token) if token else {},
            json=json,
            params=params or None,
        )


async def events(provider: Provider, event_type: str, **matching: Any) -> list[dict[str, Any]]:
    """The data of the outbox's events of ``event_type`` whose fields equal ``matching``, oldest first."""
    async with provider.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(outbox.c.data).where(outbox.c.type == event_type).order_by(outbox.c.position)
        )
        found = [row.data for row in rows]
    return [data for data in found if all(data.get(name) == value for name, value in matching.items())]


async def has_address(provider: Provider, email: str) -> ColumnElement[bool]:
    """The accounts using this address, found as identity finds them: by its lookup hash (the address is encrypted)."""
    return users.c.email_lookup == await email_lookup(provider.runtime.cipher, email)


async def audit_records(provider: Provider, **matching: Any) -> list[dict[str, Any]]:
    return await events(provider, "audit.recorded", **matching)


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if slug is not None:
        assert response.json()["type"] == f"urn:kairos:problem:{slug}"
