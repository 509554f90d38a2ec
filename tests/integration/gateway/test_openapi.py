"""The combined OpenAPI document: asked of every service through the route table, merged without clashes,
kept for a while, missing services said; and Swagger UI served from the package, no CDN."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

from kairos.gateway.domain.openapi import REF_PREFIX, ServiceDocument, merge
from kairos.platform.config import SERVICES, Settings
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.services import all_definitions
from tests.integration.gateway.harness import Gateway, Upstream, gateway_settings, running_gateway, running_upstreams

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Upstream]]:
    with running_upstreams(tmp_path_factory.mktemp("upstreams"), "a", "b") as started:
        yield started


@pytest.fixture(scope="module")
async def gateway(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> AsyncIterator[Gateway]:
    """Every service played by the stand-ins, each serving a document of its own."""
    everywhere = {service: tuple(upstream.url for upstream in upstreams) for service in SERVICES}
    settings = gateway_settings(base_settings, upstreams, service_urls=everywhere, gateway_openapi_cache_seconds=600)
    async with running_gateway(settings, gateway_database_url) as running:
        yield running


async def fetches(upstreams: list[Upstream]) -> int:
    return sum([(await upstream.state())["openapi_fetches"] for upstream in upstreams])


def unresolved_refs(document: dict[str, Any]) -> list[str]:
    components = document.get("components", {})
    missing = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF_PREFIX):
                kind, _, name = ref[len(REF_PREFIX) :].partition("/")
                if name not in components.get(kind, {}):
                    missing.append(ref)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(document)
    return missing


def operation_ids(document: dict[str, Any]) -> list[str]:
    return [
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]


async def test_every_services_paths_are_merged_under_its_prefix_with_components_of_its_own(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    response = await gateway.client.get("/api/openapi.json")

    assert response.status_code == 200
    document = response.json()
    for service in SERVICES:
        if service == "gateway":
            continue
        echo = document["paths"][f"/api/v1/{service}/echo"]["get"]
        assert echo["operationId"] == f"{service}.echo"
        assert echo["tags"] == [f"{service}: echo"]
        schema = echo["responses"]["default"]["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{service}.Problem"}
        assert document["x-kairos-services"][service]["available"] is True
    assert "/api/v1/gateway/routes" in document["paths"]
    assert "/health/ready" not in document["paths"], "not reachable through the gateway"
    assert unresolved_refs(document) == []
    assert [name for name, count in Counter(operation_ids(document)).items() if count > 1] == []


async def test_the_merged_document_is_kept_instead_of_asking_every_service_for_each_reader(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    assert (await gateway.client.get("/api/openapi.json")).status_code == 200
    before = await fetches(upstreams)

    for _ in range(3):
        assert (await gateway.client.get("/api/openapi.json")).status_code == 200

    assert await fetches(upstreams) == before


async def test_a_service_that_cannot_be_asked_is_marked_and_the_others_are_there(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    settings = gateway_settings(base_settings, upstreams)  # appointments played; every other service down
    async with running_gateway(settings, gateway_database_url) as gateway:
        document = (await gateway.client.get("/api/openapi.json")).json()

    services = document["x-kairos-services"]
    assert services["appointments"]["available"] is True
    assert "/api/v1/appointments/echo" in document["paths"]
    assert services["identity"] == {"available": False, "problem": "answered 502"}
    assert not any(path.startswith("/api/v1/identity/") for path in document["paths"])


async def test_the_reference_pages_are_served_without_any_cdn(gateway: Gateway) -> None:
    page = await gateway.client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "https://" not in page.text
    for script in ("/api/docs/assets/swagger-ui-bundle.js", "/api/docs/initializer.js"):
        assert script in page.text
        asset = await gateway.client.get(script)
        assert asset.status_code == 200
        assert "javascript" in asset.headers["content-type"]
    assert "/api/openapi.json" in (await gateway.client.get("/api/docs/initializer.js")).text
    assert (await gateway.client.get("/api/docs/assets/swagger-ui.css")).status_code == 200


def test_the_real_services_documents_merge_with_every_reference_resolved_and_unique_operation_ids(
    base_settings: Settings,
) -> None:
    """Built from each service's app (nothing started): the document the all-in-one gateway would serve."""
    nowhere = make_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    documents = []
    for definition in all_definitions():
        runtime = ServiceRuntime(
            definition, settings=base_settings, database_url=nowhere, transport=InProcessTransport()
        )
        documents.append(ServiceDocument(definition.name, f"{definition.api_prefix}/", runtime.app.openapi()))

    merged = merge(documents, title="Kairos API", version="test")

    assert unresolved_refs(merged) == []
    assert [name for name, count in Counter(operation_ids(merged)).items() if count > 1] == []
    assert all(state["available"] for state in merged["x-kairos-services"].values())
    prefixes = {path.split("/")[3] for path in merged["paths"]}
    assert {"identity", "appointments", "gateway"} <= prefixes
