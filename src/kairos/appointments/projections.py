"""Rebuild the ``appointments`` projection from the event streams, and prove it equal to what is stored.

The sealed message and answers are compared opened (each token has its own nonce, so equal plaintexts never
give equal tokens): a projection whose health data differs from its stream's, or does not open, differs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import null, select, update

from kairos.appointments.domain.appointment import Appointment
from kairos.appointments.personal_data import PersonalData, projection_context, seal
from kairos.appointments.repository import AppointmentsUnitOfWork
from kairos.appointments.tables import appointment_events, appointments
from kairos.platform.crypto import DecryptionFailed

COMPARED = ("status", "holds_time", "starts_at", "ends_at", "version", "reschedules", "personal_data")


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
        "personal_data": PersonalData(message=appointment.message, answers=dict(appointment.answers)),
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
            streams.setdefault(row["appointment_id"], []).append(row)
        for appointment_id, stream in streams.items():
            report.checked += 1
            expected = projected(Appointment.replay(await uow.appointments.decode_events(stream)))
            row = stored.get(appointment_id)
            current = None if row is None else {**row, "personal_data": await _opened(uow, row)}
            if current is None or any(current[name] != expected[name] for name in COMPARED):
                report.differing.append(appointment_id)
                if repair and current is not None:
                    personal = expected.pop("personal_data")
                    sealed = await seal(uow.cipher, personal, context=projection_context(appointment_id))
                    await uow.session.execute(
                        update(appointments)
                        .where(appointments.c.id == appointment_id)
                        .values(**expected, personal_data=sealed, legacy_message=None, legacy_answers=null())
                    )
        if repair:
            await uow.commit()
    return report


async def _opened(uow: AppointmentsUnitOfWork, row: Any) -> PersonalData | None:
    """The projection's health data, or None when its token does not open (moved, altered, or key lost)."""
    try:
        return await uow.appointments.opened_projection(row)
    except DecryptionFailed:
        return None
