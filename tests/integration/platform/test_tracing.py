"""One trace follows a request across the HTTP hop into a service, through its outbox and the transport,
into the consumer's handler (W3C ``traceparent`` in headers and in the envelope)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from kairos.gateway.proxy import forwarded_headers
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.http.middleware import RequestContextMiddleware
from kairos.platform.observability.tracing import continue_trace
from kairos.platform.runtime import FASTAPI_TELEMETRY
from tests.conftest import POSTGRES_URL
from tests.integration.platform.harness import ProbeHappened, platform_database, probe, running_relay

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_a_request_and_the_event_it_causes_share_one_trace(
    spans: InMemorySpanExporter, database_prefix: str
) -> None:
    producer = await platform_database(POSTGRES_URL, database_prefix, "producer")
    consuming = await probe(POSTGRES_URL, database_prefix)
    transport = InProcessTransport(poll_interval=0.05)
    transport.subscribe(consuming.consumer())
    await transport.start()
    app = FastAPI(telemetry=FASTAPI_TELEMETRY)

    @app.post("/things")
    async def create_thing() -> dict[str, str]:
        async with UnitOfWork(producer.sessionmaker, producer="producer") as uow:
            uow.publish(ProbeHappened(seq=1), subject="thing-1")
            await uow.commit()
        return {"status": "created"}

    traced = RequestContextMiddleware(app, service="producer")
    try:
        async with (
            running_relay(producer, transport),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=traced), base_url="http://test") as client,
        ):
            response = await client.post("/things", headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"})
            assert response.status_code == 200
            assert await consuming.wait_for(lambda n: n >= 1, timeout=10) == 1
    finally:
        await transport.stop()

    stored = await producer.scalar("SELECT traceparent FROM outbox")
    assert isinstance(stored, str)
    assert stored.startswith(f"00-{TRACE_ID}-")

    finished = [span for span in spans.get_finished_spans() if span.context.trace_id == int(TRACE_ID, 16)]
    servers = [span for span in finished if span.kind == SpanKind.SERVER]
    assert len(servers) == 1, "one server span per request"
    assert servers[0].parent is not None
    assert format(servers[0].parent.span_id, "016x") == CALLER_SPAN
    consumer = next(span for span in finished if span.kind == SpanKind.CONSUMER)
    assert consumer.name == "probe.happened process"
    assert servers[0].context.span_id in _ancestors(consumer, finished)
    await producer.engine.dispose()
    await consuming.database.engine.dispose()


def _ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[int]:
    by_id = {candidate.context.span_id: candidate for candidate in spans}
    found = []
    parent = span.parent
    while parent is not None:
        found.append(parent.span_id)
        parent = by_id[parent.span_id].parent if parent.span_id in by_id else None
    return found


def test_the_gateway_forwards_its_own_span_as_the_parent_not_the_callers_header(spans: InMemorySpanExporter) -> None:
    scope = {"type": "http", "headers": [(b"traceparent", b"00-ffffffffffffffffffffffffffffffff-1111111111111111-01")]}
    with continue_trace(
        "GET /x", traceparent=f"00-{TRACE_ID}-{CALLER_SPAN}-01", kind=SpanKind.SERVER, service="gateway"
    ):
        headers = dict(forwarded_headers(scope))
        current = trace.get_current_span().get_span_context()

    assert headers[b"traceparent"].decode() == f"00-{TRACE_ID}-{format(current.span_id, '016x')}-01"
