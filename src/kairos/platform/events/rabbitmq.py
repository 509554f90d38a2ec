"""The distributed transport: RabbitMQ through aio-pika.

Topology, per consuming service ``S`` (all queues durable quorum queues):
- a topic exchange (``kairos.events``); the routing key is the event type;
- ``kairos.S``: bound to every type S handles; after ``x-delivery-limit`` deliveries that never ended
  (a consumer crashing on a message) the broker dead-letters it to the parking queue;
- ``kairos.S.retry.<delay>``: one per back-off step; a failed event waits there for the queue's TTL,
  then is dead-lettered back to ``kairos.S``;
- ``kairos.S.parked``: events whose retries are spent, until ``kairos events replay`` sends them back.

Messages are published with confirms and acknowledged only after the handler's transaction commits
(or after the message was re-published to a retry or parking queue with confirms).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractRobustConnection

from kairos.platform.aio import cancel_and_wait
from kairos.platform.events.consumer import EventConsumer, PermanentEventError
from kairos.platform.events.envelope import Envelope
from kairos.platform.events.parking import ParkedEvent, next_retry_delay
from kairos.platform.events.transport import TransportUnavailable
from kairos.platform.observability import metrics

log = structlog.get_logger(__name__)

ATTEMPT_HEADER = "x-kairos-attempt"
ERROR_HEADER = "x-kairos-error"
DELIVERY_LIMIT = 20
PUBLISH_TIMEOUT = 15.0
LAG_SAMPLE_SECONDS = 15.0


def queue_name(consumer: str) -> str:
    return f"kairos.{consumer}"


def parked_queue_name(consumer: str) -> str:
    return f"kairos.{consumer}.parked"


def retry_queue_name(consumer: str, delay: float) -> str:
    return f"kairos.{consumer}.retry.{int(delay * 1000)}ms"


def _quorum(**arguments: Any) -> dict[str, Any]:
    return {"x-queue-type": "quorum", **arguments}


def _dead_letter_to(queue: str) -> dict[str, Any]:
    # At-least-once dead-lettering (RabbitMQ >= 3.10) needs reject-publish overflow.
    return {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queue,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


class RabbitMqTransport:
    def __init__(
        self,
        *,
        url: str,
        exchange: str = "kairos.events",
        retry_delays: Sequence[float] = (1.0, 5.0, 30.0, 120.0),
        prefetch: int = 64,
    ) -> None:
        self._url = url
        self._exchange_name = exchange
        self._retry_delays = tuple(retry_delays)
        self._prefetch = prefetch
        self._consumers: dict[str, EventConsumer] = {}
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._workers: list[asyncio.Task[None]] = []

    def subscribe(self, consumer: EventConsumer) -> None:
        self._consumers[consumer.name] = consumer

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url, reconnect_interval=1.0)
        self._publish_channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._publish_channel.declare_exchange(
            self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        for consumer in self._consumers.values():
            await self.declare(consumer.name, consumer.event_types)
            mailbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            channel = await self._connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=self._prefetch)
            queue = await channel.get_queue(queue_name(consumer.name), ensure=False)
            await queue.consume(mailbox.put)
            self._workers.append(
                asyncio.create_task(self._work(consumer, channel, mailbox), name=f"{consumer.name}-consumer")
            )
        if self._consumers:
            self._workers.append(asyncio.create_task(self._measure_lag(), name="queue-depth"))

    async def stop(self) -> None:
        await cancel_and_wait(self._workers)
        self._workers.clear()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def is_ready(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if self._exchange is None:
            raise TransportUnavailable("transport not started")
        exchange = self._exchange
        try:
            # Concurrent publishes on one channel keep their order (aiormq serialises frames in call order);
            # gather waits for every broker confirm.
            async with asyncio.timeout(PUBLISH_TIMEOUT):  # not wait_for: see kairos.platform.aio.wait_event
                await asyncio.gather(
                    *(exchange.publish(_message(envelope), routing_key=envelope.type) for envelope in envelopes)
                )
        except (aio_pika.exceptions.AMQPError, ConnectionError, TimeoutError, RuntimeError) as error:
            raise TransportUnavailable(repr(error)) from error

    async def declare(self, consumer: str, event_types: Sequence[str]) -> None:
        """Create a consumer's queues and bindings (idempotent). Done for every consumer before any service
        publishes, so an event published before its consumer first starts waits for it instead of vanishing."""
        if self._connection is None:
            raise TransportUnavailable("transport not started")
        async with self._connection.channel() as channel:
            main = queue_name(consumer)
            parked = parked_queue_name(consumer)
            # A classic queue: parked events must never be dropped by a delivery limit (RabbitMQ 4 gives every
            # quorum queue one), and listing them takes them without an ack and gives them back.
            await channel.declare_queue(parked, durable=True, arguments={"x-queue-type": "classic"})
            for delay in self._retry_delays:
                await channel.declare_queue(
                    retry_queue_name(consumer, delay),
                    durable=True,
                    arguments=_quorum(**{"x-message-ttl": int(delay * 1000)}, **_dead_letter_to(main)),
                )
            queue = await channel.declare_queue(
                main, durable=True, arguments=_quorum(**{"x-delivery-limit": DELIVERY_LIMIT}, **_dead_letter_to(parked))
            )
            for event_type in event_types:
                await queue.bind(self._exchange_name, routing_key=event_type)

    async def _work(
        self, consumer: EventConsumer, channel: AbstractChannel, mailbox: asyncio.Queue[AbstractIncomingMessage]
    ) -> None:
        while True:
            message = await mailbox.get()
            if message.channel.is_closed:
                continue  # delivered on a channel that has since died: the broker sends it again
            try:
                await self._process(consumer, channel, message)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Neither handled nor forwarded: hand it back for redelivery now rather than when the channel
                # closes (the broker parks it after DELIVERY_LIMIT deliveries). If the channel is gone, the
                # broker requeues it anyway.
                log.warning("event.delivery_interrupted", consumer=consumer.name, error=repr(error))
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)

    async def _process(
        self, consumer: EventConsumer, channel: AbstractChannel, message: AbstractIncomingMessage
    ) -> None:
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))  # type: ignore[arg-type]
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValueError as error:
            await self._forward(channel, message, parked_queue_name(consumer.name), attempt, error)
            return
        try:
            await consumer.handle(envelope, attempt=attempt)
        except PermanentEventError as error:
            metrics.EVENTS_HANDLED.labels(consumer.name, envelope.type, "parked").inc()
            log.warning("event.parked", consumer=consumer.name, event_id=str(envelope.id), error=repr(error))
            await self._forward(channel, message, parked_queue_name(consumer.name), attempt, error)
            return
        except Exception as error:
            delay = next_retry_delay(attempt, self._retry_delays)
            outcome = "parked" if delay is None else "retried"
            metrics.EVENTS_HANDLED.labels(consumer.name, envelope.type, outcome).inc()
            log.warning(
                f"event.{outcome}",
                consumer=consumer.name,
                event_id=str(envelope.id),
                attempt=attempt,
                error=repr(error),
            )
            target = parked_queue_name(consumer.name) if delay is None else retry_queue_name(consumer.name, delay)
            await self._forward(channel, message, target, attempt + (delay is not None), error)
            return
        await message.ack()

    async def _forward(
        self, channel: AbstractChannel, message: AbstractIncomingMessage, queue: str, attempt: int, error: Exception
    ) -> None:
        """Re-publish to a retry or parking queue with a confirm, then acknowledge the original."""
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt
        headers[ERROR_HEADER] = repr(error)[:1000]
        copy = aio_pika.Message(
            message.body,
            headers=headers,
            message_id=message.message_id,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await channel.default_exchange.publish(copy, routing_key=queue, timeout=PUBLISH_TIMEOUT)
        await message.ack()

    # Parking lot, for the `kairos events` command and the tests.

    async def list_parked(self, consumer: str, *, limit: int = 100) -> list[ParkedEvent]:
        connection = await aio_pika.connect(self._url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(parked_queue_name(consumer), passive=True)
            parked: list[ParkedEvent] = []
            # Messages taken without an ack go back to the queue when the channel closes.
            for _ in range(min(limit, queue.declaration_result.message_count or 0)):
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                parked.append(_parked(consumer, message))
        return parked

    async def replay(self, consumer: str, event_ids: Sequence[UUID] | None = None) -> int:
        wanted = None if event_ids is None else {str(event_id) for event_id in event_ids}
        replayed = 0
        connection = await aio_pika.connect(self._url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            queue = await channel.declare_queue(parked_queue_name(consumer), passive=True)
            for _ in range(queue.declaration_result.message_count or 0):
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                if wanted is not None and message.message_id not in wanted:
                    continue  # left unacknowledged: back in the parking queue when the channel closes
                headers = {k: v for k, v in (message.headers or {}).items() if k not in (ATTEMPT_HEADER, ERROR_HEADER)}
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        message.body,
                        headers=headers,
                        message_id=message.message_id,
                        content_type=message.content_type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=queue_name(consumer),
                )
                await message.ack()
                replayed += 1
        return replayed

    async def queue_depth(self, consumer: str) -> int:
        """Messages waiting in the service's main queue and its retry queues (the consumer's lag)."""
        if self._connection is None:
            raise TransportUnavailable("transport not started")
        names = [queue_name(consumer)] + [retry_queue_name(consumer, delay) for delay in self._retry_delays]
        total = 0
        async with self._connection.channel() as channel:
            for name in names:
                queue = await channel.declare_queue(name, passive=True)
                total += queue.declaration_result.message_count or 0
        metrics.CONSUMER_QUEUE_DEPTH.labels(consumer).set(total)
        return total

    async def _measure_lag(self) -> None:
        while True:
            await asyncio.sleep(LAG_SAMPLE_SECONDS)
            for consumer in self._consumers:
                try:
                    await self.queue_depth(consumer)
                except Exception as error:
                    log.info("event.queue_depth_unavailable", consumer=consumer, error=repr(error))


def _message(envelope: Envelope) -> aio_pika.Message:
    headers: dict[str, Any] = {}
    if envelope.traceparent:
        headers["traceparent"] = envelope.traceparent
    return aio_pika.Message(
        envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        correlation_id=envelope.correlation_id,
        type=envelope.type,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers=headers,
    )


def _parked(consumer: str, message: AbstractIncomingMessage) -> ParkedEvent:
    headers = message.headers or {}
    try:
        envelope = Envelope.model_validate_json(message.body)
    except ValueError:
        envelope = Envelope.model_validate(
            {
                "id": message.message_id or "00000000-0000-0000-0000-000000000000",
                "type": message.type or "unreadable",
                "occurred_at": "1970-01-01T00:00:00Z",
                "producer": "unknown",
                "subject": "unknown",
                "data": {"raw": message.body.decode(errors="replace")[:1000]},
            }
        )
    return ParkedEvent(
        consumer=consumer,
        envelope=envelope,
        attempts=int(headers.get(ATTEMPT_HEADER, 1)),  # type: ignore[arg-type]
        error=str(headers.get(ERROR_HEADER, json.dumps("delivery limit reached"))),
    )
