"""Events a consumer gave up on after its retries, kept for an operator to inspect and replay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from pydantic import BaseModel

from kairos.platform.events.envelope import Envelope


class ParkedEvent(BaseModel):
    consumer: str
    envelope: Envelope
    attempts: int
    error: str
    parked_at: datetime | None = None


class ParkingLot(Protocol):
    async def list_parked(self, consumer: str, *, limit: int = 100) -> list[ParkedEvent]: ...

    async def replay(self, consumer: str, event_ids: Sequence[UUID] | None = None) -> int:
        """Send parked events (all when ``event_ids`` is None) back to the consumer; return how many."""


def next_retry_delay(failed_attempts: int, delays: Sequence[float]) -> float | None:
    """Seconds before the next attempt after ``failed_attempts`` failures, or None when it is time to park."""
    if failed_attempts < 1:
        raise ValueError("at least one attempt has failed")
    return delays[failed_attempts - 1] if failed_attempts <= len(delays) else None
