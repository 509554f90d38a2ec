"""Monitoring's reactions to other services' events."""

from kairos.contracts.events.audit import AuditRecorded
from kairos.contracts.events.platform import ServiceStarted
from kairos.monitoring.repository import MonitoringUnitOfWork
from kairos.platform.events import EventHandlers, EventMeta

handlers = EventHandlers[MonitoringUnitOfWork]()


@handlers.on(ServiceStarted)
async def record_service_start(event: ServiceStarted, meta: EventMeta, uow: MonitoringUnitOfWork) -> None:
    await uow.instances.record_start(
        service=event.service, instance=event.instance, version=event.version, started_at=event.started_at
    )


@handlers.on(AuditRecorded)
async def keep_audit_record(event: AuditRecorded, meta: EventMeta, uow: MonitoringUnitOfWork) -> None:
    """Append to the hash-chained trail; the inbox (and the unique event id) make a redelivery a no-op."""
    await uow.audit.append(event, event_id=meta.id)
