"""Exactly once and in order per subject, while the relay is killed mid-batch and the broker drops every
connection: 1,000 events through outbox → RabbitMQ → inbox."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kairos.platform.config import Settings
from kairos.platform.events.rabbitmq import RabbitMqTransport
from kairos.platform.testing.infrastructure import close_all_rabbitmq_connections
from tests.conftest import POSTGRES_URL
from tests.integration.platform.harness import Database, Probe, ProbeHappened, platform_database, probe, publish

pytestmark = pytest.mark.integration

SUBJECTS = 20
EVENTS_PER_SUBJECT = 50
TOTAL = SUBJECTS * EVENTS_PER_SUBJECT
WORKER = Path(__file__).with_name("relay_worker.py")


class RelayProcess:
    def __init__(self, database: Database, rabbitmq_url: str) -> None:
        self._args = [
            sys.executable,
            str(WORKER),
            database.url.render_as_string(hide_password=False),
            rabbitmq_url,
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        root = Path(__file__).resolve().parents[3]
        self.process = subprocess.Popen(self._args, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})

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
async def consumer_side(base_settings: Settings, database_prefix: str) -> AsyncIterator[Probe]:
    consuming = await probe(POSTGRES_URL, database_prefix)
    consuming.handling_time = 0.003
    transport = RabbitMqTransport(url=base_settings.rabbitmq_url.get_secret_value(), prefetch=64)
    transport.subscribe(consuming.consumer())
    await transport.start()
    try:
        yield consuming
    finally:
        await transport.stop()
        await consuming.database.engine.dispose()


async def _published(producer: Database) -> int:
    return int(await producer.scalar("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"))  # type: ignore[arg-type]


async def _wait(condition, *, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def test_every_event_is_handled_once_in_order_despite_a_killed_relay_and_dropped_connections(
    base_settings: Settings, database_prefix: str, consumer_side: Probe
) -> None:
    producer = await platform_database(POSTGRES_URL, database_prefix, "producer")
    for seq in range(EVENTS_PER_SUBJECT):
        await publish(producer, [(f"subject-{s}", ProbeHappened(seq=seq)) for s in range(SUBJECTS)])

    relay = RelayProcess(producer, base_settings.rabbitmq_url.get_secret_value())
    try:
        relay.start()
        await _wait(lambda: _first_batches_out(producer))
        relay.kill()  # SIGKILL: mid-batch, no chance to mark what it already published
        killed_at = await _published(producer)
        assert killed_at < TOTAL, "the relay finished before it could be killed; the test proves nothing"

        relay.start()
        await _wait(lambda: _more_than(producer, killed_at + 100))
        in_flight = TOTAL - await consumer_side.received_count()
        close_all_rabbitmq_connections("kairos test: broker drops every connection")
        assert in_flight > 0, "everything was handled before the cut; the test proves nothing"

        await _wait(lambda: _all_received(consumer_side))
        await asyncio.sleep(1.0)  # let any late duplicate arrive before counting
    finally:
        relay.stop()

    rows = await consumer_side.database.rows("SELECT event_id, subject, seq FROM received ORDER BY n")
    assert len(rows) == TOTAL, f"{len(rows) - len({r[0] for r in rows})} duplicate handlings"
    assert len({event_id for event_id, _, _ in rows}) == TOTAL
    by_subject: dict[str, list[int]] = {}
    for _, subject, seq in rows:
        by_subject.setdefault(str(subject), []).append(int(seq))  # type: ignore[call-overload]
    assert len(by_subject) == SUBJECTS
    for subject, seqs in by_subject.items():
        assert seqs == list(range(EVENTS_PER_SUBJECT)), f"{subject} handled out of order"
    await producer.engine.dispose()


async def _first_batches_out(producer: Database) -> bool:
    return await _published(producer) >= 100


async def _more_than(producer: Database, count: int) -> bool:
    return await _published(producer) > min(count, TOTAL - 1)


async def _all_received(consuming: Probe) -> bool:
    return await consuming.received_count() >= TOTAL
