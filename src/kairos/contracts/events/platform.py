"""Events every service publishes about itself."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from kairos.platform.events.envelope import IntegrationEvent


class ServiceStarted(IntegrationEvent):
    """A service instance has started and can take requests (monitoring keeps the roll of instances)."""

    event_type: ClassVar[str] = "service.started"
    event_version: ClassVar[int] = 1

    service: str
    instance: str
    version: str
    started_at: datetime
