"""Integration events: envelope, outbox, relay, inbox and the two transports behind one interface."""

from kairos.platform.events.envelope import Envelope, EventMeta, IntegrationEvent
from kairos.platform.events.handlers import EventHandlers

__all__ = ["Envelope", "EventHandlers", "EventMeta", "IntegrationEvent"]
