"""Choose the transport from the settings."""

from __future__ import annotations

from kairos.platform.config import Settings, TransportKind
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.events.rabbitmq import RabbitMqTransport


def create_transport(settings: Settings) -> InProcessTransport | RabbitMqTransport:
    if settings.transport == TransportKind.IN_PROCESS:
        return InProcessTransport(retry_delays=settings.event_retry_delays)
    return RabbitMqTransport(
        url=settings.rabbitmq_url.get_secret_value(),
        exchange=settings.rabbitmq_exchange,
        retry_delays=settings.event_retry_delays,
        prefetch=settings.event_prefetch,
    )
