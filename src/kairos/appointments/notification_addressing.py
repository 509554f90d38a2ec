"""Addressing change events by the domain's notification rules (``domain/notifications.py``).

When a unit of work commits, each ``appointment.*`` change event it publishes (and each waitlist offer) gets
``notify`` (who is told, through which channels), ``reminders`` (to schedule while the appointment is booked;
empty otherwise, so a consumer replaces what it scheduled with what the latest event says) and
``notification_rules`` (``<domain>@<version>`` of the configuration they come from). Done once here for
every use case, so none can publish a change without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from kairos.appointments.domain.notifications import DEFAULT_RULES, Addressed, NotificationRule, addressed, reminders
from kairos.contracts.events import appointments as contracts
from kairos.platform.events.envelope import Envelope

if TYPE_CHECKING:
    from kairos.appointments.repository import AppointmentsUnitOfWork, Resource


def _addressed_types() -> dict[str, str]:
    found: dict[str, str] = {}
    pending: list[type[contracts.Addressed]] = [contracts.Addressed]
    while pending:
        kind = pending.pop()
        pending += kind.__subclasses__()
        event_type = getattr(kind, "event_type", None)
        if event_type is not None:
            found[event_type] = event_type.removeprefix("appointment.")
    return found


# Event type → the change its rules are written for ("appointment.proposal_accepted" → "proposal_accepted").
CHANGES_BY_EVENT_TYPE = _addressed_types()
REMINDED_STATUSES = frozenset({"booked"})


def targets(
    to: tuple[Addressed, ...], *, patient: str, organisation_id: str, resource: Resource
) -> list[contracts.NotificationTarget]:
    found = []
    for item in to:
        channels: Any = list(item.channels)
        match item.recipient:
            case "patient":
                found.append(contracts.NotificationTarget(recipient="patient", user_id=patient, channels=channels))
            case "professional" if resource.user_id is not None:  # a room or device has nobody to tell
                found.append(
                    contracts.NotificationTarget(recipient="professional", user_id=resource.user_id, channels=channels)
                )
            case "staff":
                found.append(
                    contracts.NotificationTarget(
                        recipient="staff", organisation_id=UUID(organisation_id), channels=channels
                    )
                )
    return found


async def address(uow: AppointmentsUnitOfWork, envelopes: list[Envelope]) -> list[Envelope]:
    """The envelopes with their change events addressed (others, and those already addressed, unchanged)."""
    rules_of: dict[UUID, tuple[tuple[NotificationRule, ...], str, Resource]] = {}
    result = []
    for envelope in envelopes:
        change = CHANGES_BY_EVENT_TYPE.get(envelope.type)
        if change is None or envelope.data.get("notification_rules") is not None:
            result.append(envelope)
            continue
        resource_id = UUID(envelope.data["resource_id"])
        if resource_id not in rules_of:
            resource = await uow.appointments.resource(resource_id)
            if resource.domain is None:
                rules_of[resource_id] = (DEFAULT_RULES, "default", resource)
            else:
                configuration, version = await uow.appointments.domain(resource.domain)
                rules_of[resource_id] = (configuration.notifications, f"{resource.domain}@{version}", resource)
        rules, label, resource = rules_of[resource_id]
        people = {
            "patient": envelope.data["patient"],
            "organisation_id": envelope.data["organisation_id"],
            "resource": resource,
        }
        notify = targets(addressed(rules, change), **people)
        scheduled = (
            [
                contracts.ReminderTarget(before_hours=reminder.before_hours, notify=targets(reminder.to, **people))
                for reminder in reminders(rules)
            ]
            if envelope.data.get("status") in REMINDED_STATUSES
            else []
        )
        data = {
            **envelope.data,
            "notify": [target.model_dump(mode="json") for target in notify],
            "reminders": [reminder.model_dump(mode="json") for reminder in scheduled],
            "notification_rules": label,
        }
        result.append(envelope.model_copy(update={"data": data}))
    return result
