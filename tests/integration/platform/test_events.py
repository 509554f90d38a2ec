"""The event mechanisms on the real database and broker, on both transports: outbox, relay, inbox,
retries with back-off, parking and replay."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY

from kairos.platform.config import Settings
from kairos.platform.events.envelope import Envelope
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.events.rabbitmq import RabbitMqTransport
from kairos.platform.events.relay import OutboxRelay
from tests.conftest import POSTGRES_URL
from tests.integration.platform.harness import (
    Database,
    Probe,
    ProbeHappened,
    UnrelatedHappened,
    platform_database,
    probe,
    publish,
    running_relay,
)

pytestmark = pytest.mark.integration

RETRY_DELAYS = (0.2, 0.4)


@dataclass
class Flow:
    producer: Database
    probe: Probe
    transport: InProcessTransport | RabbitMqTransport
    relay: OutboxRelay


@pytest.fixture(params=["inprocess", "rabbitmq"])
async def flow(request: pytest.FixtureRequest, base_settings: Settings, database_prefix: str) -> AsyncIterator[Flow]:
    producer = await platform_database(POSTGRES_URL, database_prefix, "producer")
    consuming = await probe(POSTGRES_URL, database_prefix)
    transport: InProcessTransport | RabbitMqTransport
    if request.param == "inprocess":
        transport = InProcessTransport(retry_delays=RETRY_DELAYS, poll_interval=0.05)
    else:
        transport = RabbitMqTransport(url=base_settings.rabbitmq_url.get_secret_value(), retry_delays=RETRY_DELAYS)
    transport.subscribe(consuming.consumer())
    await transport.start()
    try:
        async with running_relay(producer, transport) as relay:
            yield Flow(producer, consuming, transport, relay)
    finally:
        await transport.stop()
        await producer.engine.dispose()
        await consuming.database.engine.dispose()


async def test_a_rolled_back_transaction_publishes_nothing(flow: Flow) -> None:
    await publish(flow.producer, [("s-1", ProbeHappened(seq=1))], commit=False)
    await publish(flow.producer, [("s-1", ProbeHappened(seq=2))])

    assert await flow.probe.wait_for(lambda n: n >= 1) == 1
    await asyncio.sleep(0.5)  # room for a wrongly published first event to arrive
    assert await flow.producer.scalar("SELECT count(*) FROM outbox") == 1
    assert await flow.probe.database.rows("SELECT seq FROM received") == [(2,)]


async def test_a_committed_event_is_handled_exactly_once_even_when_delivered_again(flow: Flow) -> None:
    await publish(flow.producer, [("s-1", ProbeHappened(seq=7)), ("s-2", UnrelatedHappened(note="ignored"))])
    assert await flow.probe.wait_for(lambda n: n >= 1) == 1

    # The broker or a restarted relay may deliver it again: the inbox makes that a no-op.
    row = (await flow.producer.rows("SELECT id FROM outbox WHERE type = 'probe.happened'"))[0]
    stored = await flow.producer.rows(
        "SELECT id, type, version, occurred_at, producer, correlation_id, subject, data FROM outbox WHERE id = :id",
        id=row[0],
    )
    fields = dict(
        zip(
            ["id", "type", "version", "occurred_at", "producer", "correlation_id", "subject", "data"],
            stored[0],
            strict=True,
        )
    )
    await flow.transport.publish([Envelope.model_validate(fields)])
    await asyncio.sleep(0.5)

    assert await flow.probe.received_count() == 1
    assert await flow.producer.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    assert await flow.probe.database.scalar("SELECT count(*) FROM inbox") == 1
    assert _handled(flow, "handled") == 1
    assert _handled(flow, "duplicate") == 1
    assert await flow.relay.backlog() == (0, 0.0)


async def test_a_failing_handler_is_retried_with_back_off_then_parked_and_replayed_after_the_fix(flow: Flow) -> None:
    flow.probe.failing_seqs.add(13)
    await publish(flow.producer, [("poison", ProbeHappened(seq=13))])
    await publish(flow.producer, [(f"healthy-{n}", ProbeHappened(seq=n)) for n in range(1, 6)])

    # Other events keep flowing while the failing one waits for its retries.
    assert await flow.probe.wait_for(lambda n: n >= 5) == 5
    parked = await _wait_parked(flow, count=1)
    attempts = flow.probe.attempts[13]
    assert len(attempts) == 1 + len(RETRY_DELAYS)
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    for gap, delay in zip(gaps, RETRY_DELAYS, strict=True):
        assert gap >= delay * 0.9, f"retried after {gap:.2f}s, before its {delay}s back-off"
    assert parked[0].envelope.data == {"seq": 13}
    assert "probe 13 refused" in parked[0].error

    flow.probe.failing_seqs.clear()
    assert await flow.transport.replay(flow.probe.name) == 1
    assert await flow.probe.wait_for(lambda n: n >= 6) == 6
    assert await flow.probe.database.rows("SELECT seq FROM received WHERE subject = 'poison'") == [(13,)]
    assert await _wait_parked(flow, count=0) == []
    assert _handled(flow, "retried") == len(RETRY_DELAYS)
    assert _handled(flow, "parked") == 1
    failures = REGISTRY.get_sample_value(
        "kairos_event_handler_failures_total", {"service": flow.probe.name, "type": "probe.happened"}
    )
    assert failures == 1 + len(RETRY_DELAYS)


def _handled(flow: Flow, outcome: str) -> float:
    labels = {"service": flow.probe.name, "type": "probe.happened", "outcome": outcome}
    return REGISTRY.get_sample_value("kairos_events_handled_total", labels) or 0.0


async def _wait_parked(flow: Flow, *, count: int, timeout: float = 20.0) -> list:  # type: ignore[type-arg]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        parked = await flow.transport.list_parked(flow.probe.name)
        if len(parked) == count or asyncio.get_running_loop().time() > deadline:
            return parked
        await asyncio.sleep(0.1)
