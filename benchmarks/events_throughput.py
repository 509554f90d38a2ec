"""Events per second through the full path, against the broker's own ceiling measured in the same run.

- Kairos over RabbitMQ: ``EVENTS`` events written ``TRANSACTION_SIZE`` to a transaction by
  ``UnitOfWork.publish``/``commit`` into the producer's outbox; the relay (configured as the tests run it)
  publishes them with confirms; the consumer records each id in its inbox and runs a handler doing one
  small INSERT, in one commit, then acknowledges. Timed from the first producer transaction to the last
  handler commit.
- Raw aio-pika, the ceiling: as many messages, with the very bodies the relay sends, published with
  publisher confirms (concurrently, one relay batch at a time, as the transport does) through a topic
  exchange to a durable quorum queue, and consumed one at a time with a manual ack. Timed from the first
  publish to the last ack; run just before and just after the RabbitMQ path, and pooled.
- Kairos in-process (extra): the same writes, relayed by the all-in-one transport straight to the inbox.

Every path runs in this one process and event loop, on throw-away databases and a throw-away vhost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.integration.platform.harness import Database, platform_database

from kairos.platform.config import LogFormat
from kairos.platform.db.engine import asyncpg_dsn
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import Envelope, EventHandlers, EventMeta, IntegrationEvent
from kairos.platform.events.consumer import EventConsumer, Outcome
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.events.rabbitmq import RabbitMqTransport
from kairos.platform.events.relay import OutboxRelay
from kairos.platform.ids import new_id
from kairos.platform.observability.logging import setup_logging
from kairos.platform.testing.infrastructure import create_vhost, delete_vhost, drop_databases, unique_name

EVENTS = 3_000  # about 15 s per Kairos path on 2 cores: long enough for a steady rate, short enough for `make bench`
TRANSACTION_SIZE = 50
RELAY_BATCH = 200  # OutboxRelay's default: the transport publishes one batch concurrently
PREFETCH = 64  # RabbitMqTransport's default
# A stalled path fails the run instead of hanging it; the four paths and set-up stay under two minutes.
KAIROS_PATH_LIMIT = 35.0
RAW_PATH_LIMIT = 10.0
PRODUCER = "bench-producer"


class ThroughputMeasured(IntegrationEvent):
    event_type: ClassVar[str] = "bench.throughput_measured"

    seq: int


@dataclass(frozen=True)
class Infrastructure:
    postgres_url: str
    rabbitmq_url: str
    database_prefix: str


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass(frozen=True)
class KairosRate:
    delivered: Rate  # first producer transaction to last handler commit
    written: Rate  # first producer transaction to last producer commit: the producer on its own


@dataclass(frozen=True)
class Results:
    raw_before: Rate
    raw_after: Rate
    rabbitmq: KairosRate
    inprocess: KairosRate
    body_size: int

    @property
    def raw(self) -> Rate:
        """Both ceiling runs pooled: they bracket the RabbitMQ path, so a drifting machine load evens out."""
        return Rate(self.raw_before.count + self.raw_after.count, self.raw_before.seconds + self.raw_after.seconds)


@contextlib.asynccontextmanager
async def throwaway_infrastructure() -> AsyncIterator[Infrastructure]:
    """A vhost and a database name prefix of this run's own, removed afterwards whatever happened."""
    postgres_url = os.environ.get("KAIROS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    rabbitmq_url = os.environ.get("KAIROS_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    run_id = unique_name("")
    vhost = f"kairos-bench-{run_id}"
    prefix = f"kairos_bench_{run_id}_"
    try:
        await asyncio.to_thread(create_vhost, vhost)
        yield Infrastructure(postgres_url, f"{rabbitmq_url.rstrip('/')}/{vhost}", prefix)
    finally:
        await drop_databases(postgres_url, prefix)
        await asyncio.to_thread(delete_vhost, vhost)


class TimedConsumer(EventConsumer):
    """A consumer built as services build theirs, noting when the last expected event's commit is done."""

    def __init__(self, *, expected: int, database: Database) -> None:
        handlers = EventHandlers[UnitOfWork]()

        @handlers.on(ThroughputMeasured)
        async def record(event: ThroughputMeasured, meta: EventMeta, uow: UnitOfWork) -> None:
            await uow.session.execute(
                text("INSERT INTO received (event_id, seq) VALUES (:id, :seq)"), {"id": meta.id, "seq": event.seq}
            )

        super().__init__(
            name=unique_name("bench-consumer-"),
            handlers=handlers,
            unit_of_work=lambda: UnitOfWork(database.sessionmaker, producer="bench-consumer"),
            sessionmaker=database.sessionmaker,
        )
        self.expected = expected
        self.handled = 0
        self.all_handled = asyncio.Event()
        self.finished_at = 0.0

    async def handle(self, envelope: Envelope, *, attempt: int = 1) -> Outcome:
        outcome = await super().handle(envelope, attempt=attempt)
        if outcome is Outcome.HANDLED:
            self.handled += 1
            if self.handled == self.expected:
                self.finished_at = time.perf_counter()
                self.all_handled.set()
        return outcome


async def write_events(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """What a service does: publish through a unit of work, one outbox commit per transaction."""
    for first in range(0, EVENTS, TRANSACTION_SIZE):
        async with UnitOfWork(sessionmaker, producer=PRODUCER) as uow:
            for seq in range(first, first + TRANSACTION_SIZE):
                uow.publish(ThroughputMeasured(seq=seq), subject=f"entity-{seq}")
            await uow.commit()


async def kairos_path(
    infrastructure: Infrastructure, name: str, transport: InProcessTransport | RabbitMqTransport
) -> KairosRate:
    producer = await platform_database(infrastructure.postgres_url, infrastructure.database_prefix, f"{name}_producer")
    consuming = await platform_database(infrastructure.postgres_url, infrastructure.database_prefix, f"{name}_consumer")
    async with consuming.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE received (event_id uuid PRIMARY KEY, seq int NOT NULL)"))
    consumer = TimedConsumer(expected=EVENTS, database=consuming)
    transport.subscribe(consumer)
    relay = OutboxRelay(
        service=PRODUCER,
        sessionmaker=producer.sessionmaker,
        listen_dsn=asyncpg_dsn(producer.url),
        transport=transport,
        batch_size=RELAY_BATCH,
        poll_interval=0.2,
        retention=timedelta(hours=1),
    )
    running: asyncio.Task[None] | None = None
    try:
        await transport.start()
        running = asyncio.create_task(relay.run())
        await asyncio.sleep(0.5)  # let the relay's LISTEN connection come up, as in a service already running
        async with time_limit(KAIROS_PATH_LIMIT, lambda: f"{name}: {consumer.handled:,}/{EVENTS:,} handled"):
            started = time.perf_counter()
            await write_events(producer.sessionmaker)
            written = time.perf_counter() - started
            await consumer.all_handled.wait()
        return KairosRate(delivered=Rate(EVENTS, consumer.finished_at - started), written=Rate(EVENTS, written))
    finally:
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await transport.stop()
        await producer.engine.dispose()
        await consuming.engine.dispose()


def relayed_bodies() -> list[bytes]:
    """The bodies the relay sends for these events, so the raw run moves the same bytes."""
    now = datetime.now(UTC)
    return [
        Envelope(
            id=new_id(),
            type=ThroughputMeasured.event_type,
            occurred_at=now,
            producer=PRODUCER,
            subject=f"entity-{seq}",
            data=ThroughputMeasured(seq=seq).model_dump(mode="json"),
        )
        .model_dump_json()
        .encode()
        for seq in range(EVENTS)
    ]


async def raw_aio_pika(infrastructure: Infrastructure, bodies: list[bytes]) -> Rate:
    """The ceiling: publisher confirms into a quorum queue and a sequential manual-ack consumer, nothing else."""
    connection = await aio_pika.connect(infrastructure.rabbitmq_url)
    async with connection:
        publishing = await connection.channel(publisher_confirms=True)
        exchange = await publishing.declare_exchange("bench.raw", aio_pika.ExchangeType.TOPIC, durable=True)
        consuming = await connection.channel()
        await consuming.set_qos(prefetch_count=PREFETCH)
        queue = await consuming.declare_queue("bench.raw", durable=True, arguments={"x-queue-type": "quorum"})
        await queue.bind(exchange, routing_key=ThroughputMeasured.event_type)
        mailbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(mailbox.put)

        acked = 0

        async def consume() -> float:
            nonlocal acked
            for _ in bodies:
                message = await mailbox.get()
                await message.ack()
                acked += 1
            return time.perf_counter()

        def message(body: bytes) -> aio_pika.Message:
            return aio_pika.Message(
                body,
                message_id=str(new_id()),
                type=ThroughputMeasured.event_type,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )

        consumer = asyncio.create_task(consume())
        try:
            async with time_limit(RAW_PATH_LIMIT, lambda: f"raw aio-pika: {acked:,}/{len(bodies):,} acked"):
                started = time.perf_counter()
                for first in range(0, len(bodies), RELAY_BATCH):
                    await asyncio.gather(
                        *(
                            exchange.publish(message(body), routing_key=ThroughputMeasured.event_type)
                            for body in bodies[first : first + RELAY_BATCH]
                        )
                    )
                finished_at = await consumer
        finally:
            consumer.cancel()
        return Rate(len(bodies), finished_at - started)


@contextlib.asynccontextmanager
async def time_limit(seconds: float, progress: Callable[[], str]) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise RuntimeError(f"gave up after {seconds:g} s: {progress()}") from None


async def measure() -> Results:
    async with throwaway_infrastructure() as infrastructure:
        bodies = relayed_bodies()
        # The ceiling right before and right after the path it is compared with, so both see the same machine.
        raw_before = await raw_aio_pika(infrastructure, bodies)
        rabbitmq = await kairos_path(
            infrastructure, "rabbitmq", RabbitMqTransport(url=infrastructure.rabbitmq_url, prefetch=PREFETCH)
        )
        raw_after = await raw_aio_pika(infrastructure, bodies)
        inprocess = await kairos_path(infrastructure, "inprocess", InProcessTransport())
        return Results(raw_before, raw_after, rabbitmq, inprocess, body_size=max(map(len, bodies)))


async def main() -> None:
    setup_logging(level="WARNING", log_format=LogFormat.CONSOLE)
    results = await measure()
    rabbitmq, raw = results.rabbitmq.delivered, results.raw
    print(
        f"events: outbox→RabbitMQ→inbox {rabbitmq.per_second:,.0f} ev/s; "
        f"raw aio-pika confirms→consume {raw.per_second:,.0f} msg/s; "
        f"ratio {rabbitmq.per_second / raw.per_second:.2f}"
    )
    print(f"events: outbox→in-process→inbox {results.inprocess.delivered.per_second:,.0f} ev/s")
    print(
        f"events: {EVENTS:,} events of ≤{results.body_size} bytes, {TRANSACTION_SIZE} a transaction; "
        f"raw before/after {results.raw_before.per_second:,.0f}/{results.raw_after.per_second:,.0f} msg/s; "
        f"the producer alone wrote {results.rabbitmq.written.per_second:,.0f} ev/s (RabbitMQ run), "
        f"{results.inprocess.written.per_second:,.0f} ev/s (in-process run)"
    )


if __name__ == "__main__":
    asyncio.run(main())
