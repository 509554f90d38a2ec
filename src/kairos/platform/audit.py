"""Audit records of personal-data access, written in the same transaction as the access they describe.

``record(uow, ...)`` queues an ``audit.recorded`` event (``kairos.contracts.events.audit``) on the unit of
work, so it reaches the outbox when the unit of work commits; a read is audited by committing its unit of
work too. Without the commit there is no record, so a route that cannot record does not answer either
(fail closed). No log line: a record queued by a transaction that then rolls back never happened.
"""

from __future__ import annotations

from collections.abc import Sequence

from kairos.contracts.events.audit import AuditAction, AuditRecorded
from kairos.platform.auth.principal import Principal
from kairos.platform.db.uow import UnitOfWork

ENVELOPE_SUBJECT_LIMIT = 300


def record(
    uow: UnitOfWork,
    *,
    actor: Principal | str,
    action: AuditAction,
    resource_type: str,
    resource_id: object,
    data_subject: object | None = None,
    fields: Sequence[str] = (),
    purpose: str | None = None,
) -> AuditRecorded:
    """Queue the audit record of one access; it is published when ``uow`` commits."""
    subject = actor.subject if isinstance(actor, Principal) else actor
    client = actor.client_id if isinstance(actor, Principal) else None
    event = AuditRecorded(
        service=uow.producer,
        actor=subject,
        actor_client=client,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        data_subject=None if data_subject is None else str(data_subject),
        fields=sorted(fields),
        purpose=purpose,
        recorded_at=uow.clock.now(),
    )
    # The envelope's subject is a label of bounded size (outbox.subject, 300 characters); a resource id can be
    # longer (a caller's own key), and the event's data keeps it whole.
    uow.publish(event, subject=f"{resource_type}:{resource_id}"[:ENVELOPE_SUBJECT_LIMIT])
    return event
