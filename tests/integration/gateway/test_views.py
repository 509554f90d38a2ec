"""The appointment view: one answer read from several services with the caller's token, a part that a
down service could not give marked as such, and the appointment's own failure answered as the view's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.engine import URL

from kairos.platform.config import Settings
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.gateway.harness import Gateway, Upstream, gateway_settings, running_gateway, running_upstreams
from tests.integration.gateway.upstream import OTHER_RESOURCE_ID, RESOURCE_ID

pytestmark = pytest.mark.integration

VIEW = "/api/v1/views/appointments"


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Upstream]]:
    with running_upstreams(tmp_path_factory.mktemp("upstreams"), "a", "b") as started:
        yield started


@pytest.fixture(scope="module")
async def gateway(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> AsyncIterator[Gateway]:
    """Appointments and chat played by the stand-ins; documents (and every other service) down."""
    settings = gateway_settings(base_settings, upstreams)
    urls = dict(settings.service_urls)
    urls["chat"] = (upstreams[0].url,)
    settings = gateway_settings(base_settings, upstreams, service_urls=urls)
    async with running_gateway(settings, gateway_database_url) as running:
        yield running


async def authorizations(upstreams: list[Upstream]) -> list[str | None]:
    return [value for upstream in upstreams for value in (await upstream.state())["authorizations"]]


async def test_the_view_combines_every_part_and_marks_the_one_a_down_service_could_not_give(
    gateway: Gateway, upstreams: list[Upstream], issuer: TestIssuer
) -> None:
    appointment_id = uuid.uuid4()
    token = issuer.token(sub="patient-3")
    before = len(await authorizations(upstreams))

    response = await gateway.client.get(f"{VIEW}/{appointment_id}", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["appointment"]["id"] == str(appointment_id)
    assert view["professional"] == {
        "resource_id": RESOURCE_ID,
        "display_name": "Dr. Stand-in",
        "specialty": "Dermatology",
        "verified": True,
    }
    assert view["schedule"] == {"resource_id": RESOURCE_ID, "zone": "Europe/Paris"}
    assert view["conversation"]["instance"] == upstreams[0].name
    assert view["documents"]["unavailable"] is True
    assert view["documents"]["problem"]["status"] == 502
    assert view["documents"]["problem"]["type"] == "urn:kairos:problem:upstream-unavailable"
    assert view["unavailable_parts"] == ["documents"]
    assert response.headers["cache-control"] == "no-store"
    forwarded = (await authorizations(upstreams))[before:]
    assert len(forwarded) == 4, "appointment, professional, schedule and conversation, each asked once"
    assert set(forwarded) == {f"Bearer {token}"}, "every service decides with the caller's own token"


async def test_a_professional_the_directory_cannot_give_is_marked_unavailable_and_the_rest_is_served(
    gateway: Gateway, issuer: TestIssuer
) -> None:
    appointment_id = "ffff" + str(uuid.uuid4())[4:]  # booked on the resource whose professional read fails

    response = await gateway.client.get(
        f"{VIEW}/{appointment_id}", headers={"Authorization": f"Bearer {issuer.token(sub='patient-3')}"}
    )

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["appointment"]["resource_id"] == OTHER_RESOURCE_ID
    assert view["professional"]["unavailable"] is True
    assert view["professional"]["problem"]["status"] == 500
    assert view["professional"]["problem"]["type"] == "urn:kairos:problem:internal-error"
    assert view["schedule"] == {"resource_id": OTHER_RESOURCE_ID, "zone": "Europe/Paris"}
    assert view["unavailable_parts"] == ["documents", "professional"]


async def test_an_appointment_the_service_does_not_give_is_the_views_answer(
    gateway: Gateway, issuer: TestIssuer
) -> None:
    unknown = "0000" + str(uuid.uuid4())[4:]

    response = await gateway.client.get(f"{VIEW}/{unknown}", headers={"Authorization": f"Bearer {issuer.token()}"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:kairos:problem:not-found"


async def test_a_bad_token_is_refused_at_the_gateway_before_any_service_is_asked(
    gateway: Gateway, upstreams: list[Upstream], issuer: TestIssuer
) -> None:
    before = sum([await upstream.hits() for upstream in upstreams])

    expired = issuer.token(expires_in=-120)
    response = await gateway.client.get(f"{VIEW}/{uuid.uuid4()}", headers={"Authorization": f"Bearer {expired}"})

    assert response.status_code == 401
    assert response.json()["type"] == "urn:kairos:problem:unauthenticated"
    assert sum([await upstream.hits() for upstream in upstreams]) == before


async def test_a_view_without_a_token_gets_401_before_any_service_is_asked(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    before = sum([await upstream.hits() for upstream in upstreams])

    response = await gateway.client.get(f"{VIEW}/{uuid.uuid4()}")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert sum([await upstream.hits() for upstream in upstreams]) == before


async def test_a_malformed_id_gets_a_validation_problem(gateway: Gateway, issuer: TestIssuer) -> None:
    response = await gateway.client.get(f"{VIEW}/not-an-id", headers={"Authorization": f"Bearer {issuer.token()}"})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
