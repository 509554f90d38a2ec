"""The interface both transports implement; services never see which one runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kairos.platform.events.consumer import EventConsumer
from kairos.platform.events.envelope import Envelope


class Transport(Protocol):
    def subscribe(self, consumer: EventConsumer) -> None:
        """Register a service's consumer; call before ``start``."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Return only once every envelope is durably accepted, in the given order."""

    async def is_ready(self) -> bool: ...

    async def declare(self, consumer: str, event_types: Sequence[str]) -> None:
        """Prepare delivery to a consumer that may not be running yet (queues and bindings)."""


class TransportUnavailable(Exception):
    """The transport could not take the events now; the relay tries again later."""
