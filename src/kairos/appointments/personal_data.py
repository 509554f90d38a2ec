"""An appointment's health data at rest: the request's ``message`` and form ``answers``.

Both are sealed together, as one canonical JSON object, with the service's data cipher
(``kairos.platform.crypto``, AES-256-GCM) into a text token:
- in the projection, ``appointments.personal_data``, context ``appointments.appointments.personal_data:<id>``;
- in the event stream, ``appointment_events.personal_data`` of the ``requested`` event, context
  ``appointments.appointment_events.personal_data:<appointment id>:<sequence>``; the event's ``data`` keeps
  everything else in clear (times, type, patient's account id), so the stream stays readable for replays.
The context is authenticated, so a token copied to another row or column does not open.

Rows written before migration 0007 kept their plaintext in ``legacy_message``/``legacy_answers`` (and in the
``requested`` event's ``data``); ``seal_legacy`` moves them into tokens at start-up (the migration itself has
no keys: they live in the secret provider).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import null, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.appointments.tables import appointment_events, appointments
from kairos.platform.crypto.cipher import DataCipher

LEGACY_BATCH = 500


@dataclass(frozen=True)
class PersonalData:
    """What a patient wrote with a request: health data, never logged and never put in integration events."""

    message: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return self.message is None and not self.answers

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "answers": self.answers}


def projection_context(appointment_id: UUID) -> bytes:
    return f"appointments.appointments.personal_data:{appointment_id}".encode()


def event_context(appointment_id: UUID, sequence: int) -> bytes:
    return f"appointments.appointment_events.personal_data:{appointment_id}:{sequence}".encode()


def _canonical(data: PersonalData) -> str:
    return json.dumps(data.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def seal(cipher: DataCipher, data: PersonalData, *, context: bytes) -> str:
    return await cipher.encrypt_text(_canonical(data), context=context)


async def open_token(cipher: DataCipher, token: str | None, *, context: bytes) -> PersonalData:
    if token is None:
        return PersonalData()
    opened = json.loads(await cipher.decrypt_text(token, context=context))
    return PersonalData(message=opened.get("message"), answers=dict(opened.get("answers") or {}))


async def seal_legacy(session: AsyncSession, cipher: DataCipher, *, batch: int = LEGACY_BATCH) -> int:
    """Seal one batch of rows still holding plaintext from before migration 0007; return how many were
    sealed (call until 0). The caller commits."""
    sealed = 0
    rows = (
        await session.execute(
            select(appointments.c.id, appointments.c.legacy_message, appointments.c.legacy_answers)
            .where(or_(appointments.c.legacy_message.is_not(None), appointments.c.legacy_answers.is_not(None)))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        data = PersonalData(message=row.legacy_message, answers=dict(row.legacy_answers or {}))
        await session.execute(
            update(appointments)
            .where(appointments.c.id == row.id)
            .values(
                personal_data=await seal(cipher, data, context=projection_context(row.id)),
                legacy_message=None,
                legacy_answers=null(),
            )
        )
        sealed += 1
    events = (
        await session.execute(
            select(appointment_events.c.appointment_id, appointment_events.c.sequence, appointment_events.c.data)
            .where(
                appointment_events.c.kind == "requested",
                appointment_events.c.personal_data.is_(None),
                text("(appointment_events.data ? 'message' OR appointment_events.data ? 'answers')"),
            )
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for event in events:
        clear = dict(event.data)
        data = PersonalData(message=clear.pop("message", None), answers=dict(clear.pop("answers", None) or {}))
        await session.execute(
            update(appointment_events)
            .where(
                appointment_events.c.appointment_id == event.appointment_id,
                appointment_events.c.sequence == event.sequence,
            )
            .values(
                data=clear,
                personal_data=await seal(cipher, data, context=event_context(event.appointment_id, event.sequence)),
            )
        )
        sealed += 1
    return sealed
