"""Exactly once and in order per subject, through crashes: 1,000 events through outbox → transport → inbox.

RabbitMQ: the relay (its own process) is SIGKILLed mid-batch and restarted, then the broker drops every
connection. In-process: the whole small all-in-one (relay and consumer in one process) is SIGKILLed
mid-flight and restarted, as a crash of the all-in-one shape would be.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from kairos.platform.config import Settings
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.events.rabbitmq import RabbitMqTransport
from kairos.platform.testing.infrastructure import close_all_rabbitmq_connections
from tests.conftest import POSTGRES_URL
from tests.integration.platform.harness import (
    Database,
    Probe,
    ProbeHappened,
    platform_database,
    probe,
    publish,
    running_relay,
)

pytestmark = pytest.mark.integration

SUBJECTS = 20
EVENTS_PER_SUBJECT = 50
TOTAL = SUBJECTS * EVENTS_PER_SUBJECT
ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("relay_worker.py")


class WorkerProcess:
    """The relay (and, in-process, the consumer) in a process of its own, to be killed."""

    def __init__(self, *args: str) -> None:
        self._args = [sys.executable, str(WORKER), *args]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self._args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
async def producer(database_prefix: str) -> AsyncIterator[Database]:
    database = await platform_database(POSTGRES_URL, database_prefix, "producer")
    for seq in range(EVENTS_PER_SUBJECT):
        await publish(database, [(f"subject-{s}", ProbeHappened(seq=seq)) for s in range(SUBJECTS)])
    yield database
    await database.engine.dispose()


@pytest.fixture
async def consuming(database_prefix: str) -> AsyncIterator[Probe]:
    consumer = await probe(POSTGRES_URL, database_prefix)
    consumer.handling_time = 0.003  # keeps events in flight when the cut comes
    yield consumer
    await consumer.database.engine.dispose()


async def test_rabbitmq_every_event_is_handled_once_in_order_despite_a_killed_relay_and_dropped_connections(
    base_settings: Settings, producer: Database, consuming: Probe
) -> None:
    rabbitmq_url = base_settings.rabbitmq_url.get_secret_value()
    transport = RabbitMqTransport(url=rabbitmq_url, prefetch=64)
    transport.subscribe(consuming.consumer())
    await transport.start()
    relay = WorkerProcess("rabbitmq", _url(producer), rabbitmq_url)
    try:
        relay.start()
        await _wait(lambda: _published_at_least(producer, 100))
        relay.kill()  # SIGKILL: mid-batch, no chance to mark what it already published
        killed_at = await _published(producer)
        assert killed_at < TOTAL, "the relay finished before it could be killed; the test proves nothing"

        relay.start()
        await _wait(lambda: _published_at_least(producer, min(killed_at + 100, TOTAL - 1)))
        in_flight = TOTAL - await consuming.received_count()
        close_all_rabbitmq_connections("kairos test: broker drops every connection")
        assert in_flight > 0, "everything was handled before the cut; the test proves nothing"

        await _wait(lambda: _received_all(consuming))
        await asyncio.sleep(1.0)  # let any late duplicate arrive before counting
    finally:
        relay.stop()
        await transport.stop()

    await _assert_exactly_once_in_order(consuming)


async def test_in_process_every_event_is_handled_once_in_order_despite_a_killed_all_in_one(
    producer: Database, consuming: Probe
) -> None:
    all_in_one = WorkerProcess("inprocess", _url(producer), _url(consuming.database), consuming.name)
    try:
        all_in_one.start()
        await _wait(lambda: _received_at_least(consuming, 100))
        all_in_one.kill()
        handled_before_crash = await consuming.received_count()
        assert handled_before_crash < TOTAL, "everything was handled before the crash; the test proves nothing"

        all_in_one.start()
        await _wait(lambda: _received_all(consuming))
        await asyncio.sleep(1.0)
    finally:
        all_in_one.stop()

    await _assert_exactly_once_in_order(consuming)


async def _assert_exactly_once_in_order(consuming: Probe) -> None:
    rows = await consuming.database.rows("SELECT event_id, subject, seq FROM received ORDER BY n")
    assert len(rows) == TOTAL, f"{len(rows) - len({r[0] for r in rows})} duplicate handlings"
    assert len({event_id for event_id, _, _ in rows}) == TOTAL
    by_subject: dict[str, list[int]] = {}
    for _, subject, seq in rows:
        by_subject.setdefault(str(subject), []).append(int(seq))  # type: ignore[call-overload]
    assert len(by_subject) == SUBJECTS
    for subject, seqs in by_subject.items():
        assert seqs == list(range(EVENTS_PER_SUBJECT)), f"{subject} handled out of order"


def _url(database: Database) -> str:
    return database.url.render_as_string(hide_password=False)


async def _published(producer: Database) -> int:
    return int(await producer.scalar("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"))  # type: ignore[arg-type]


async def _published_at_least(producer: Database, count: int) -> bool:
    return await _published(producer) >= count


async def _received_at_least(consuming: Probe, count: int) -> bool:
    return await consuming.received_count() >= count


async def _received_all(consuming: Probe) -> bool:
    return await _received_at_least(consuming, TOTAL)


async def _wait(condition: Callable[[], Awaitable[bool]], *, timeout: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def test_two_relays_on_one_outbox_keep_every_subject_in_order(producer: Database, consuming: Probe) -> None:
    transport = InProcessTransport()
    transport.subscribe(consuming.consumer())
    await transport.start()
    try:
        async with running_relay(producer, transport, batch_size=20), running_relay(producer, transport, batch_size=20):
            await _wait(lambda: _received_all(consuming))
    finally:
        await transport.stop()

    await _assert_exactly_once_in_order(consuming)
