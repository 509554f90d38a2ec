"""Monitoring's part of the GDPR sagas identity orchestrates (docs/privacy.md).

Monitoring keeps the audit trail: who read or changed whose personal data. An export gives the person the
entries about them (who accessed their data, when, which fields, for what purpose: GDPR Art. 15(1)(c)). An
erasure keeps them: the trail is append-only and hash-chained for accountability (Art. 5(2)), which Art. 17(3)(b)
and (e) allow to keep; it holds ids and field names, never the data itself. The roll of service instances names
no person.
"""

from __future__ import annotations

from kairos.contracts.events.privacy import Anonymised, ErasureDone, ErasureRequested, ExportReady, ExportRequested
from kairos.monitoring.repository import AuditFilter, MonitoringUnitOfWork
from kairos.platform.events import EventHandlers, EventMeta
from kairos.platform.http.pagination import PageRequest
from kairos.platform.privacy import request_subject

# Newest first would need another index; the export bounds itself instead (the part is at most 2 MiB of JSON).
EXPORTED_ENTRIES = 5_000


def register(handlers: EventHandlers[MonitoringUnitOfWork]) -> EventHandlers[MonitoringUnitOfWork]:
    """Add the privacy handlers to the service's table of handlers."""
    handlers.on(ExportRequested)(export_audit_entries)
    handlers.on(ErasureRequested)(keep_audit_entries)
    return handlers


async def export_audit_entries(event: ExportRequested, meta: EventMeta, uow: MonitoringUnitOfWork) -> None:
    """The audit entries whose data subject is the person, oldest first, up to ``EXPORTED_ENTRIES``."""
    found = await uow.audit.page(
        AuditFilter(data_subject=str(event.subject_user_id)), PageRequest(limit=EXPORTED_ENTRIES + 1)
    )
    entries = [
        {
            "recorded_at": stored.entry.recorded_at.isoformat(),
            "service": stored.entry.service,
            "actor": stored.entry.actor,
            "actor_client": stored.entry.actor_client,
            "action": stored.entry.action,
            "resource_type": stored.entry.resource_type,
            "resource_id": stored.entry.resource_id,
            "fields": list(stored.entry.fields),
            "purpose": stored.entry.purpose,
        }
        for stored in found[:EXPORTED_ENTRIES]
    ]
    data = {"audit_entries": entries, "more_entries_held": len(found) > EXPORTED_ENTRIES}
    uow.publish(
        ExportReady(service=uow.producer, request_id=event.request_id, data=data, prepared_at=uow.clock.now()),
        subject=request_subject(event.request_id),
    )


async def keep_audit_entries(event: ErasureRequested, meta: EventMeta, uow: MonitoringUnitOfWork) -> None:
    """Nothing deleted: the trail is kept, and the statement says so."""
    kept = Anonymised(
        what="audit trail entries about the person",
        how="kept as they are: ids, field names and times, never the data itself",
        why="accountability for every access to personal data (GDPR Art. 5(2), 17(3)(b) and (e)); "
        "the trail is append-only and hash-chained",
    )
    uow.publish(
        ErasureDone(service=uow.producer, request_id=event.request_id, anonymised=[kept], completed_at=uow.clock.now()),
        subject=request_subject(event.request_id),
    )
