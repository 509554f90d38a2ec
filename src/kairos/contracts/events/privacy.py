"""The data-subject request sagas (GDPR Art. 15, 17, 20): identity asks, every service holding personal data answers.

Identity publishes ``privacy.export_requested`` or ``privacy.erasure_requested``; the event does not say which
services take part: each service that handles it decides what it holds, and answers with ``privacy.export_ready``
or ``privacy.erasure_done`` — also when it holds nothing, so that the saga knows it was heard. Identity collects the
answers (docs/privacy.md).

An export part travels inline, bounded by ``MAX_EXPORT_PART_BYTES`` of JSON: a part that would not fit is refused
here, where the producer builds it, rather than truncated somewhere downstream. Events are kept in queues and
outboxes outside the producer's encryption, so an export part is personal data in transit: the outbox keeps it
until its retention ends (72 hours by default).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kairos.platform.events.envelope import IntegrationEvent

MAX_EXPORT_PART_BYTES = 2 * 1024 * 1024


class ExportRequested(IntegrationEvent):
    """Send identity your part of everything you hold about ``subject_user_id`` (Art. 15 and 20)."""

    event_type: ClassVar[str] = "privacy.export_requested"

    request_id: UUID
    subject_user_id: UUID
    requested_at: datetime


class ErasureRequested(IntegrationEvent):
    """Erase what you hold about ``subject_user_id``, or anonymise what the law says must be kept (Art. 17)."""

    event_type: ClassVar[str] = "privacy.erasure_requested"

    request_id: UUID
    subject_user_id: UUID
    requested_at: datetime


class ExportReady(IntegrationEvent):
    """One service's part of an export: JSON data in its own shape (``{}`` when it holds nothing)."""

    event_type: ClassVar[str] = "privacy.export_ready"

    service: str
    request_id: UUID
    data: dict[str, Any]
    prepared_at: datetime

    @field_validator("data")
    @classmethod
    def _bounded(cls, data: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(data, default=str).encode("utf-8"))
        if size > MAX_EXPORT_PART_BYTES:
            raise ValueError(f"an export part is at most {MAX_EXPORT_PART_BYTES} bytes of JSON, this one is {size}")
        return data


class Anonymised(BaseModel):
    """Records kept rather than deleted, what was done to them, and the rule that requires keeping them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    what: str = Field(examples=["appointments and their history (12)"])
    how: str = Field(examples=["patient pseudonymised; message, answers and the patient's own reasons cleared"])
    why: str = Field(examples=["medical records kept 20 years (France, CSP R.1112-7)"])


class ErasureDone(IntegrationEvent):
    """One service's statement on an erasure: what it deleted and what it kept anonymised, with why.

    It names kinds of records and counts, never their content: the statement goes into the receipt.
    """

    event_type: ClassVar[str] = "privacy.erasure_done"

    service: str
    request_id: UUID
    deleted: list[str] = Field(default_factory=list)  # e.g. "waitlist entries (2)"; empty: nothing held
    anonymised: list[Anonymised] = Field(default_factory=list)
    completed_at: datetime
