"""The table of a service's event handlers: which contract goes to which function."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kairos.platform.events.envelope import Envelope, EventMeta, IntegrationEvent

EventT = TypeVar("EventT", bound=IntegrationEvent)
UowT = TypeVar("UowT")

Handler = Callable[[Any, EventMeta, Any], Awaitable[None]]


class UnknownEventVersion(Exception):
    """The envelope's version has no contract here: a permanent failure, so the event is parked."""


@dataclass(frozen=True)
class Registration:
    contract: type[IntegrationEvent]
    handler: Handler


class EventHandlers(Generic[UowT]):
    """Handlers are plain async functions ``(event, meta, uow) -> None``; the same code runs on both transports.

    >>> handlers = EventHandlers[MonitoringUnitOfWork]()
    >>> @handlers.on(ServiceStarted)
    ... async def record_start(event: ServiceStarted, meta: EventMeta, uow: MonitoringUnitOfWork) -> None: ...
    """

    def __init__(self) -> None:
        self._by_type: dict[str, dict[int, Registration]] = {}

    def on(
        self, contract: type[EventT]
    ) -> Callable[
        [Callable[[EventT, EventMeta, UowT], Awaitable[None]]], Callable[[EventT, EventMeta, UowT], Awaitable[None]]
    ]:
        def register(
            handler: Callable[[EventT, EventMeta, UowT], Awaitable[None]],
        ) -> Callable[[EventT, EventMeta, UowT], Awaitable[None]]:
            versions = self._by_type.setdefault(contract.event_type, {})
            if contract.event_version in versions:
                raise ValueError(f"{contract.event_type} v{contract.event_version} already has a handler")
            versions[contract.event_version] = Registration(contract, handler)
            return handler

        return register

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_type))

    def handles(self, event_type: str) -> bool:
        return event_type in self._by_type

    def resolve(self, envelope: Envelope) -> tuple[Handler, IntegrationEvent] | None:
        """The handler and parsed event for an envelope, or None when this service ignores the type."""
        versions = self._by_type.get(envelope.type)
        if versions is None:
            return None
        registration = versions.get(envelope.version)
        if registration is None:
            raise UnknownEventVersion(f"{envelope.type} v{envelope.version}")
        return registration.handler, registration.contract.model_validate(envelope.data)
