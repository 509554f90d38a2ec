"""Live slot changes: PostgreSQL LISTEN/NOTIFY on the appointments database, fanned out to the streams of this
instance.

Every write that changes a resource's free time notifies ``SLOTS_CHANNEL`` in its own transaction: triggers
on ``appointments`` and ``schedules`` (migration 0006), and ``calendar_store.notify_slots_changed`` for
imported busy time. PostgreSQL delivers a notification only when its transaction commits, and to every
connection listening, so each instance of the service (distributed shape) hears every committed change, and
nothing that was rolled back. Each instance holds one listening connection (reconnecting after a failure;
streams are told to re-read, since changes may have been missed meanwhile) and hands each change to the
queues of the streams watching that resource.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from kairos.platform.aio import cancel_and_wait

log = structlog.get_logger(__name__)

SLOTS_CHANNEL = "kairos_appointments_slots"  # also in migration 0006
QUEUE_SIZE = 100
RECONNECT_SECONDS = 1.0


@dataclass(frozen=True)
class SlotChange:
    """Free time of ``resource_id`` may have changed between ``changed_from`` and ``changed_until`` (None: any time)."""

    resource_id: UUID | None  # None: anything may have changed (the listener reconnected)
    changed_from: datetime | None = None
    changed_until: datetime | None = None


CLOSED = SlotChange(resource_id=None, changed_from=datetime.min, changed_until=datetime.min)  # the hub stopped


def parse_notification(payload: str) -> SlotChange | None:
    try:
        data = json.loads(payload)
        return SlotChange(
            resource_id=UUID(data["resource_id"]),
            changed_from=_moment(data.get("from")),
            changed_until=_moment(data.get("until")),
        )
    except (ValueError, KeyError, TypeError):
        log.warning("live.unreadable_notification", payload=payload[:200])
        return None


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class LiveSlots:
    """This instance's fan-out of slot changes, fed by one LISTEN connection."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._watchers: dict[UUID, set[asyncio.Queue[SlotChange]]] = defaultdict(set)
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        self._closed = False
        self._task = asyncio.create_task(self._listen(), name="appointments-live-slots")

    async def stop(self) -> None:
        """Stop listening and end every open stream."""
        self._closed = True
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None
        for queues in self._watchers.values():
            for queue in queues:
                _offer(queue, CLOSED)

    async def wait_listening(self) -> None:
        """Until this instance listens (tests wait for it before changing anything)."""
        await self._listening.wait()

    @contextlib.asynccontextmanager
    async def watch(self, resource_id: UUID) -> AsyncIterator[asyncio.Queue[SlotChange]]:
        """A queue of the resource's changes for as long as the block lasts."""
        queue: asyncio.Queue[SlotChange] = asyncio.Queue(QUEUE_SIZE)
        if self._closed:
            queue.put_nowait(CLOSED)
        self._watchers[resource_id].add(queue)
        try:
            yield queue
        finally:
            watchers = self._watchers.get(resource_id)
            if watchers is not None:
                watchers.discard(queue)
                if not watchers:
                    del self._watchers[resource_id]

    def publish(self, change: SlotChange) -> None:
        if change.resource_id is None:
            targets = [queue for queues in self._watchers.values() for queue in queues]
        else:
            targets = list(self._watchers.get(change.resource_id, ()))
        for queue in targets:
            _offer(queue, change)

    async def _listen(self) -> None:
        first = True
        while True:
            connection: asyncpg.Connection | None = None
            try:
                lost = asyncio.Event()
                connection = await asyncpg.connect(self._dsn)
                connection.add_termination_listener(lambda _, lost=lost: lost.set())
                await connection.add_listener(SLOTS_CHANNEL, self._notified)
                self._listening.set()
                if not first:
                    self.publish(SlotChange(resource_id=None))  # what happened while deaf is unknown
                first = False
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.info("live.listen_reconnecting", error=repr(error))
            finally:
                self._listening.clear()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(connection.close(timeout=2))
            await asyncio.sleep(RECONNECT_SECONDS)

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        change = parse_notification(payload)
        if change is not None:
            self.publish(change)


def _offer(queue: asyncio.Queue[SlotChange], change: SlotChange) -> None:
    # A stream too slow to keep up is told to re-read everything rather than block the others.
    try:
        queue.put_nowait(change)
    except asyncio.QueueFull:
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
        queue.put_nowait(change if change is CLOSED else SlotChange(resource_id=None))
