"""The envelope every integration event travels in, and the base of the versioned contracts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class IntegrationEvent(BaseModel):
    """A versioned contract one service publishes for others (see ``kairos.contracts``).

    ``event_type`` is the routing key (``appointment.approved``); a breaking change to the fields is a
    new class with a higher ``event_version``, published beside the old one while consumers move over.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1


class Envelope(BaseModel):
    """What crosses the transport: routing and tracing metadata around a contract's data."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    type: str = Field(examples=["appointment.approved"])
    version: int = 1
    occurred_at: datetime
    producer: str
    correlation_id: str | None = None
    subject: str = Field(description="the entity the event is about; events of one subject stay in order")
    data: dict[str, Any]
    traceparent: str | None = Field(default=None, description="W3C trace context of the producing span")


class EventMeta(BaseModel):
    """What a handler may want to know about an event beyond its data."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    occurred_at: datetime
    producer: str
    subject: str
    correlation_id: str | None
    attempt: int = 1
