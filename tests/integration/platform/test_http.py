"""The platform's HTTP conventions on a real service and database: RFC 9457 problems, correlation ids,
Idempotency-Key, the body limit, cursor pagination, health and metrics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from kairos.platform.config import Settings
from kairos.platform.http.pagination import encode_cursor
from kairos.platform.testing.infrastructure import unique_name
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.platform.service_fixture import (
    API,
    INTERNAL_FAILURE,
    MAX_REQUEST_BYTES,
    Notebook,
    fresh_database_url,
    notebook_settings,
    running_notebook,
    served_over_http,
)

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"
NOTES = f"{API}/notes"


@pytest.fixture(scope="module")
async def notebook(base_settings: Settings, database_prefix: str, issuer: TestIssuer) -> AsyncIterator[Notebook]:
    settings = notebook_settings(base_settings)
    async with running_notebook(settings, fresh_database_url(database_prefix), issuer=issuer) as running:
        yield running


@pytest.fixture
def topic() -> str:
    return unique_name("topic-")


@pytest.fixture
def client(notebook: Notebook) -> httpx.AsyncClient:
    return notebook.client


def assert_problem(response: httpx.Response, *, status: int, type_: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = response.json()
    assert body["type"] == type_
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    return body


# RFC 9457 problem details


async def test_an_invalid_body_is_a_validation_problem_listing_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post(NOTES, json={"topic": "", "text": 7})

    body = assert_problem(response, status=422, type_="urn:kairos:problem:validation")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert sorted(error["location"] for error in errors) == [["body", "text"], ["body", "topic"]]
    assert all(error["message"] and error["type"] for error in errors)


async def test_an_unknown_path_is_a_not_found_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/nowhere")

    body = assert_problem(response, status=404, type_="urn:kairos:problem:not-found")
    assert body["title"] == "Not Found"
    assert body["instance"] == f"{API}/nowhere"


async def test_a_wrong_method_is_a_method_not_allowed_problem_naming_an_allowed_one(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete(NOTES)

    assert_problem(response, status=405, type_="urn:kairos:problem:method-not-allowed")
    assert "POST" in response.headers["allow"]  # RFC 9110 §15.5.6: a 405 names allowed methods


async def test_an_unexpected_failure_is_an_internal_problem_that_reveals_nothing_but_the_correlation_id(
    notebook: Notebook, client: httpx.AsyncClient, topic: str
) -> None:
    notebook.controls.failing_once.add(topic)

    response = await client.post(NOTES, json={"topic": topic, "text": "hello"})

    body = assert_problem(response, status=500, type_="urn:kairos:problem:internal")
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    for leak in (INTERNAL_FAILURE, "hunter2", "RuntimeError", "Traceback", "service_fixture.py"):
        assert leak not in response.text


async def test_a_registered_domain_exception_is_answered_with_its_mapped_problem(
    notebook: Notebook, client: httpx.AsyncClient, topic: str
) -> None:
    notebook.controls.closed_topics.add(topic)

    response = await client.post(NOTES, json={"topic": topic, "text": "hello"})

    body = assert_problem(response, status=409, type_="urn:kairos:problem:topic-closed")
    assert body["title"] == "The topic is closed"
    assert body["detail"] == f"The topic {topic} takes no more notes"
    assert body["instance"] == NOTES
    assert await notebook.note_count(topic) == 0


# Correlation id


async def test_an_incoming_correlation_id_is_echoed_in_the_header_and_in_problems(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/nowhere", headers={"X-Correlation-ID": "booking-flow:42.a_b"})

    assert response.headers["x-correlation-id"] == "booking-flow:42.a_b"
    assert response.json()["correlation_id"] == "booking-flow:42.a_b"


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("<script>alert(1)</script>", id="markup"),
        pytest.param("with spaces", id="spaces"),
        pytest.param("x" * 129, id="too-long"),
    ],
)
async def test_a_missing_or_unsafe_correlation_id_is_replaced_with_a_generated_one(
    client: httpx.AsyncClient, incoming: str | None
) -> None:
    headers = {} if incoming is None else {"X-Correlation-ID": incoming}

    response = await client.get(f"{API}/nowhere", headers=headers)

    generated = response.headers["x-correlation-id"]
    assert generated != incoming
    assert uuid.UUID(generated)
    assert response.json()["correlation_id"] == generated


async def test_each_request_gets_its_own_generated_correlation_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")

    assert first.headers["x-correlation-id"] != second.headers["x-correlation-id"]


# Idempotency-Key


async def test_the_same_key_and_body_replays_the_stored_response_and_writes_once(
    notebook: Notebook, client: httpx.AsyncClient, topic: str
) -> None:
    note = {"topic": topic, "text": "hello"}
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = await client.post(NOTES, json=note, headers=key)
    again = await client.post(NOTES, json=note, headers=key)

    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await notebook.note_count(topic) == 1


async def test_a_stored_response_is_encrypted_at_rest(
    notebook: Notebook, client: httpx.AsyncClient, topic: str
) -> None:
    secret_text = f"shown once {uuid.uuid4()}"
    key = str(uuid.uuid4())
    first = await client.post(NOTES, json={"topic": topic, "text": secret_text}, headers={"Idempotency-Key": key})
    assert secret_text.encode() in first.content

    async with notebook.runtime.engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT response_body FROM idempotency_records WHERE key = :key"), {"key": key}
        )
    assert stored
    assert secret_text.encode() not in stored
    assert topic.encode() not in stored


async def test_the_same_key_with_another_body_is_refused(
    notebook: Notebook, client: httpx.AsyncClient, topic: str
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    await client.post(NOTES, json={"topic": topic, "text": "hello"}, headers=key)

    response = await client.post(NOTES, json={"topic": topic, "text": "goodbye"}, headers=key)

    assert_problem(response, status=422, type_="urn:kairos:problem:idempotency-key-reused")
    assert await notebook.note_count(topic) == 1


async def test_a_request_arriving_while_the_first_with_its_key_runs_is_a_conflict(
    notebook: Notebook, client: httpx.AsyncClient, topic: str
) -> None:
    note = {"topic": topic, "text": "hello"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    hold = notebook.controls.hold(topic)
    first = asyncio.create_task(client.post(NOTES, json=note, headers=key))
    await asyncio.wait_for(hold.entered.wait(), timeout=10)

    second = await client.post(NOTES, json=note, headers=key)
    hold.release.set()
    first_response = await first

    assert_problem(second, status=409, type_="urn:kairos:problem:idempotency-key-in-use")
    assert first_response.status_code == 201
    assert await notebook.note_count(topic) == 1
    after = await client.post(NOTES, json=note, headers=key)
    assert after.headers["idempotent-replayed"] == "true"
    assert after.content == first_response.content


async def test_a_server_error_is_not_stored_so_a_retry_runs_again(
    notebook: Notebook, client: httpx.AsyncClient, topic: str
) -> None:
    note = {"topic": topic, "text": "hello"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    notebook.controls.failing_once.add(topic)

    failed = await client.post(NOTES, json=note, headers=key)
    retried = await client.post(NOTES, json=note, headers=key)

    assert failed.status_code == 500
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert await notebook.note_count(topic) == 1


async def test_a_client_error_is_stored_and_replayed(notebook: Notebook, client: httpx.AsyncClient, topic: str) -> None:
    note = {"topic": topic, "text": "hello"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    notebook.controls.closed_topics.add(topic)
    refused = await client.post(NOTES, json=note, headers=key)
    notebook.controls.closed_topics.discard(topic)

    again = await client.post(NOTES, json=note, headers=key)

    assert refused.status_code == 409
    assert again.status_code == 409
    assert again.headers["idempotent-replayed"] == "true"
    assert await notebook.note_count(topic) == 0


async def test_keys_are_scoped_to_the_verified_caller(
    notebook: Notebook, client: httpx.AsyncClient, issuer: TestIssuer, topic: str
) -> None:
    note = {"topic": topic, "text": "hello"}
    key = str(uuid.uuid4())

    alice = await client.post(
        NOTES, json=note, headers={"Idempotency-Key": key, "Authorization": f"Bearer {issuer.token(sub='alice')}"}
    )
    bob = await client.post(
        NOTES, json=note, headers={"Idempotency-Key": key, "Authorization": f"Bearer {issuer.token(sub='bob')}"}
    )

    assert (alice.status_code, bob.status_code) == (201, 201)
    assert "idempotent-replayed" not in bob.headers
    assert (alice.json()["author"], bob.json()["author"]) == ("alice", "bob")
    assert await notebook.note_count(topic) == 2


async def test_the_same_caller_with_a_fresh_token_gets_the_stored_response(
    notebook: Notebook, client: httpx.AsyncClient, issuer: TestIssuer, topic: str
) -> None:
    note = {"topic": topic, "text": "hello"}
    key = str(uuid.uuid4())

    first = await client.post(
        NOTES, json=note, headers={"Idempotency-Key": key, "Authorization": f"Bearer {issuer.token(sub='carol')}"}
    )
    again = await client.post(
        NOTES, json=note, headers={"Idempotency-Key": key, "Authorization": f"Bearer {issuer.token(sub='carol')}"}
    )

    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await notebook.note_count(topic) == 1


@pytest.mark.parametrize("key", [pytest.param("k" * 256, id="too-long"), pytest.param("", id="empty")])
async def test_a_key_outside_1_to_255_characters_is_a_bad_request(
    notebook: Notebook, client: httpx.AsyncClient, topic: str, key: str
) -> None:
    response = await client.post(NOTES, json={"topic": topic, "text": "hello"}, headers={"Idempotency-Key": key})

    assert_problem(response, status=400, type_="urn:kairos:problem:idempotency-key-invalid")
    assert await notebook.note_count(topic) == 0


async def test_a_key_of_255_characters_is_accepted(notebook: Notebook, client: httpx.AsyncClient, topic: str) -> None:
    response = await client.post(
        NOTES, json={"topic": topic, "text": "hello"}, headers={"Idempotency-Key": uuid.uuid4().hex.ljust(255, "k")}
    )

    assert response.status_code == 201
    assert await notebook.note_count(topic) == 1


async def test_a_key_on_an_unknown_long_path_is_still_a_not_found_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/{'x' * 400}", json={}, headers={"Idempotency-Key": str(uuid.uuid4())})

    assert_problem(response, status=404, type_="urn:kairos:problem:not-found")


# Body limit


def body_over_the_limit() -> bytes:
    return b'{"topic": "big", "text": "' + b"x" * MAX_REQUEST_BYTES + b'"}'


async def test_a_declared_content_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(NOTES, content=body_over_the_limit(), headers={"Content-Type": "application/json"})

    body = assert_problem(response, status=413, type_="urn:kairos:problem:payload-too-large")
    assert body["correlation_id"] == response.headers["x-correlation-id"]


async def in_chunks(body: bytes, size: int = 256) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("has_idempotency_key", [False, True], ids=["plain", "with-idempotency-key"])
async def test_a_streamed_body_over_the_limit_without_content_length_is_refused(
    notebook: Notebook, has_idempotency_key: bool
) -> None:
    headers = {"Content-Type": "application/json"}
    if has_idempotency_key:
        headers["Idempotency-Key"] = str(uuid.uuid4())

    async with served_over_http(notebook) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post(NOTES, content=in_chunks(body_over_the_limit()), headers=headers)

    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, status=413, type_="urn:kairos:problem:payload-too-large")
    assert await notebook.note_count("big") == 0


async def test_a_streamed_body_within_the_limit_is_accepted(notebook: Notebook, topic: str) -> None:
    note = f'{{"topic": "{topic}", "text": "{"y" * 500}"}}'.encode()

    async with served_over_http(notebook) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post(NOTES, content=in_chunks(note), headers={"Content-Type": "application/json"})

    assert response.status_code == 201, response.text
    assert await notebook.note_count(topic) == 1


# Pagination


async def test_walking_every_page_returns_every_note_once_in_order(notebook: Notebook, topic: str) -> None:
    start = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    # Several notes share a moment, so the id has to break ties for the order to be total.
    moments = [start + timedelta(minutes=minute) for minute in (3, 0, 1, 1, 1, 2, 0, 3, 5, 4, 1)]
    await notebook.add_notes([{"topic": topic, "text": f"note {n}", "written_at": at} for n, at in enumerate(moments)])

    seen: list[dict[str, object]] = []
    pages = 0
    cursor: str | None = None
    while True:
        params = {"topic": topic, "limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await notebook.client.get(NOTES, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 4
    assert len(seen) == len(moments)
    assert len({note["id"] for note in seen}) == len(moments)
    order = [(datetime.fromisoformat(str(note["written_at"])), int(str(note["id"]))) for note in seen]
    assert order == sorted(order)


async def test_a_page_of_an_empty_list_is_the_last(notebook: Notebook, topic: str) -> None:
    response = await notebook.client.get(NOTES, params={"topic": topic})

    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("garbage!", id="garbage"),
        pytest.param(encode_cursor(["2025-03-01T09:00:00+00:00"]), id="too-narrow"),
        pytest.param(encode_cursor(["yesterday", "1"]), id="not-a-time"),
        pytest.param(encode_cursor(["2025-03-01T09:00:00+00:00", "one"]), id="not-an-id"),
        pytest.param(encode_cursor(["2025-03-01T09:00:00+00:00", "9" * 30]), id="id-out-of-range"),
    ],
)
async def test_a_cursor_that_is_not_ours_is_a_bad_request_problem(notebook: Notebook, topic: str, cursor: str) -> None:
    response = await notebook.client.get(NOTES, params={"topic": topic, "cursor": cursor})

    assert_problem(response, status=400, type_="urn:kairos:problem:invalid-cursor")


async def test_a_page_size_over_the_maximum_is_a_validation_problem(notebook: Notebook, topic: str) -> None:
    response = await notebook.client.get(NOTES, params={"topic": topic, "limit": 201})

    assert_problem(response, status=422, type_="urn:kairos:problem:validation")


# Health and metrics


async def test_liveness_answers_without_asking_dependencies(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_reports_each_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "events": "ok"}}


async def test_readiness_fails_when_a_dependency_fails(notebook: Notebook) -> None:
    async def search_index_down() -> bool:
        raise ConnectionError("search index unreachable")

    notebook.runtime.extra_checks["search"] = search_index_down
    try:
        response = await notebook.client.get("/health/ready")
    finally:
        del notebook.runtime.extra_checks["search"]

    assert response.status_code == 503
    assert response.json() == {"status": "failing", "checks": {"database": "ok", "events": "ok", "search": "failing"}}


def request_count(exposition: str, *, route: Callable[[str], bool], **labels: str) -> float:
    """The requests counted so far with these labels, summed over the routes ``route`` accepts."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "kairos_http_request_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_count")
        and route(sample.labels["route"])
        and all(sample.labels.get(name) == value for name, value in labels.items())
    )


async def test_metrics_count_requests_by_service_and_route_template(client: httpx.AsyncClient, topic: str) -> None:
    def notes_route(route: str) -> bool:
        return route.endswith("/notes")

    labels = {"service": "notebook", "method": "GET", "status": "200"}
    before = request_count((await client.get("/metrics")).text, route=notes_route, **labels)

    await client.get(NOTES, params={"topic": topic})
    metrics = await client.get("/metrics")

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert request_count(metrics.text, route=notes_route, **labels) == before + 1
    assert "?topic=" not in metrics.text


async def test_unknown_paths_share_one_metric_label(client: httpx.AsyncClient) -> None:
    def unmatched(route: str) -> bool:
        return route == "unmatched"

    labels = {"service": "notebook", "method": "GET", "status": "404"}
    before = request_count((await client.get("/metrics")).text, route=unmatched, **labels)
    path = f"{API}/{uuid.uuid4()}"

    await client.get(path)
    exposition = (await client.get("/metrics")).text

    assert request_count(exposition, route=unmatched, **labels) == before + 1
    assert path not in exposition
