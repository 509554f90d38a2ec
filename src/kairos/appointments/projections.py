"""Rebuild the ``appointments`` projection from the event streams, and prove it equal to what is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import select, update

from kairos.appointments.domain.appointment import Appointment
from kairos.appointments.repository import AppointmentsUnitOfWork, decode_event
from kairos.appointments.tables import appointment_events, appointments

COMPARED = ("status", "holds_time", "starts_at", "ends_at", "version", "reschedules")


@dataclass
class RebuildReport:
    checked: int = 0
    differing: list[UUID] = field(default_factory=list)
    repaired: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "differing": [str(i) for i in self.differing], "repaired": self.repaired}


def projected(appointment: Appointment) -> dict[str, Any]:
    return {
        "status": appointment.status.value,
        "holds_time": appointment.status.holds_time,
        "starts_at": appointment.period.starts_at,
        "ends_at": appointment.period.ends_at,
        "version": appointment.version,
        "reschedules": appointment.reschedules,
    }


async def rebuild(*, uow: AppointmentsUnitOfWork, repair: bool) -> RebuildReport:
    """Replay every stream; report each appointment whose stored projection differs, and fix it if asked."""
    report = RebuildReport(repaired=repair)
    async with uow:
        stored = {row["id"]: row for row in (await uow.session.execute(select(appointments))).mappings()}
        streams: dict[UUID, list[Any]] = {}
        rows = await uow.session.execute(
            select(appointment_events).order_by(appointment_events.c.appointment_id, appointment_events.c.sequence)
        )
        for row in rows.mappings():
            streams.setdefault(row["appointment_id"], []).append(decode_event(row))
        for appointment_id, events in streams.items():
            report.checked += 1
            expected = projected(Appointment.replay(events))
            current = stored.get(appointment_id)
            if current is None or any(current[name] != expected[name] for name in COMPARED):
                report.differing.append(appointment_id)
                if repair and current is not None:
                    await uow.session.execute(
                        update(appointments).where(appointments.c.id == appointment_id).values(**expected)
                    )
        if repair:
            await uow.commit()
    return report
