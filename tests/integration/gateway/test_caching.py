"""The response cache in Redis: only what a service marks cacheable, per user when private, shared by every
gateway, answered with 304 to a matching If-None-Match, and dropped when an event says the resource changed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import URL

from kairos.contracts.events.appointments import AppointmentApproved
from kairos.platform.config import Settings
from kairos.platform.events.envelope import Envelope
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.gateway.conftest import REDIS_URL
from tests.integration.gateway.harness import (
    API,
    Gateway,
    Upstream,
    gateway_settings,
    running_gateway,
    running_upstreams,
)

pytestmark = pytest.mark.integration

PUBLIC = "public, max-age=60"
PRIVATE = "private, max-age=60"


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Upstream]]:
    with running_upstreams(tmp_path_factory.mktemp("upstreams"), "a", "b") as started:
        yield started


@pytest.fixture(scope="module")
def cache_settings(upstreams: list[Upstream], base_settings: Settings, cache_prefix: str) -> Settings:
    return gateway_settings(
        base_settings,
        upstreams,
        gateway_cache_storage="redis",
        gateway_cache_prefix=cache_prefix,
        redis_url=SecretStr(REDIS_URL),
    )


@pytest.fixture(scope="module")
async def gateway(cache_settings: Settings, gateway_database_url: URL) -> AsyncIterator[Gateway]:
    async with running_gateway(cache_settings, gateway_database_url) as running:
        yield running


def cacheable(cache_control: str, *, under: str = "", tag: str | None = None) -> tuple[str, dict[str, str]]:
    """A path of its own (entries live for the whole run) answered with ``cache_control``."""
    params = {"cc": cache_control} | ({"tag": tag} if tag else {})
    return f"{API}/cacheable/{under}{uuid.uuid4()}", params


async def reads(upstreams: list[Upstream]) -> int:
    return sum([(await upstream.state())["cached_reads"] for upstream in upstreams])


async def get(client: httpx.AsyncClient, path: str, params: dict[str, str], **headers: str) -> httpx.Response:
    return await client.get(path, params=params, headers=headers)


async def test_a_public_answer_is_served_from_the_cache_the_second_time(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    path, params = cacheable(PUBLIC)
    before = await reads(upstreams)

    first = await get(gateway.client, path, params)
    second = await get(gateway.client, path, params)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert await reads(upstreams) == before + 1
    assert (first.headers["x-kairos-cache"], second.headers["x-kairos-cache"]) == ("miss", "hit")
    assert int(second.headers["age"]) >= 0
    assert second.headers["cache-control"] == PUBLIC
    assert second.headers["etag"] == first.headers["etag"]


@pytest.mark.parametrize(
    "cache_control",
    ["no-store", "max-age=60", "public, no-cache, max-age=60", "public", "public, max-age=0"],
)
async def test_an_answer_not_marked_cacheable_with_a_lifetime_is_never_kept(
    gateway: Gateway, upstreams: list[Upstream], cache_control: str
) -> None:
    path, params = cacheable(cache_control)
    before = await reads(upstreams)

    for _ in range(2):
        assert (await get(gateway.client, path, params)).status_code == 200

    assert await reads(upstreams) == before + 2


async def test_a_matching_if_none_match_gets_304_from_the_cache_and_a_stale_one_the_body(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    path, params = cacheable(PUBLIC)
    etag = (await get(gateway.client, path, params)).headers["etag"]
    before = await reads(upstreams)

    not_modified = await get(gateway.client, path, params, **{"If-None-Match": f'"other", {etag}'})
    modified = await get(gateway.client, path, params, **{"If-None-Match": '"other"'})

    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"] == PUBLIC
    assert modified.status_code == 200
    assert modified.headers["x-kairos-cache"] == "hit"
    assert await reads(upstreams) == before


async def test_a_private_answer_is_kept_for_its_user_only(
    gateway: Gateway, upstreams: list[Upstream], issuer: TestIssuer
) -> None:
    path, params = cacheable(PRIVATE)
    alice = {"Authorization": f"Bearer {issuer.token(sub='alice')}"}
    bob = {"Authorization": f"Bearer {issuer.token(sub='bob')}"}
    before = await reads(upstreams)

    alice_first = await get(gateway.client, path, params, **alice)
    alice_again = await get(gateway.client, path, params, **alice)
    bob_first = await get(gateway.client, path, params, **bob)
    anonymous = [await get(gateway.client, path, params) for _ in range(2)]

    assert alice_again.json() == alice_first.json()
    assert alice_again.headers["x-kairos-cache"] == "hit"
    assert bob_first.json()["subject"] == "bob"
    assert bob_first.headers["x-kairos-cache"] == "miss"
    assert [response.json()["subject"] for response in anonymous] == [None, None]
    assert await reads(upstreams) == before + 4, "alice once, bob once, the anonymous reader twice"


async def test_a_client_asking_for_no_cache_gets_a_fresh_answer(gateway: Gateway, upstreams: list[Upstream]) -> None:
    path, params = cacheable(PUBLIC)
    await get(gateway.client, path, params)
    before = await reads(upstreams)

    fresh = await get(gateway.client, path, params, **{"Cache-Control": "no-cache"})

    assert fresh.headers["x-kairos-cache"] == "miss"
    assert await reads(upstreams) == before + 1


async def test_an_appointment_event_drops_the_cached_answers_about_that_appointment_and_its_resource(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    appointment_id, resource_id = uuid.uuid4(), uuid.uuid4()
    about_appointment, appointment_params = cacheable(PUBLIC, under=f"appointments/{appointment_id}/")
    about_resource, resource_params = cacheable(PUBLIC, tag=str(resource_id))
    unrelated, unrelated_params = cacheable(PUBLIC)
    for path, params in [
        (about_appointment, appointment_params),
        (about_resource, resource_params),
        (unrelated, unrelated_params),
    ]:
        await get(gateway.client, path, params)
        assert (await get(gateway.client, path, params)).headers["x-kairos-cache"] == "hit"

    await gateway.runtime.transport.publish([approved(appointment_id, resource_id)])

    assert (await get(gateway.client, about_appointment, appointment_params)).headers["x-kairos-cache"] == "miss"
    assert (await get(gateway.client, about_resource, resource_params)).headers["x-kairos-cache"] == "miss"
    assert (await get(gateway.client, unrelated, unrelated_params)).headers["x-kairos-cache"] == "hit"


async def test_gateways_sharing_redis_share_the_cache(
    gateway: Gateway, cache_settings: Settings, gateway_database_url: URL, upstreams: list[Upstream]
) -> None:
    path, params = cacheable(PUBLIC)
    first = await get(gateway.client, path, params)
    async with running_gateway(cache_settings, gateway_database_url) as another:
        from_another = await get(another.client, path, params)

    assert from_another.headers["x-kairos-cache"] == "hit"
    assert from_another.json() == first.json()


def approved(appointment_id: uuid.UUID, resource_id: uuid.UUID) -> Envelope:
    starts_at = datetime.now(UTC) + timedelta(days=1)
    event = AppointmentApproved(
        appointment_id=appointment_id,
        resource_id=resource_id,
        organisation_id=uuid.uuid4(),
        patient="patient-1",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        status="booked",
        actor="professional-1",
    )
    data: dict[str, Any] = event.model_dump(mode="json")
    return Envelope(
        id=uuid.uuid4(),
        type=event.event_type,
        occurred_at=datetime.now(UTC),
        producer="appointments",
        subject=f"appointment:{appointment_id}",
        data=data,
    )
