"""API models of the monitoring service."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from kairos.monitoring.domain.audit_chain import ChainCheck, StoredEntry


class ServiceInstanceRead(BaseModel):
    service: str
    instance: str
    version: str
    started_at: datetime


class AuditEntryRead(BaseModel):
    """One access to personal or health data, as the trail keeps it: who, what, whose — never the values."""

    position: int = Field(description="place in the chain, from 1, without gaps")
    event_id: str
    service: str = Field(examples=["appointments"])
    actor: str = Field(description="the token's subject: a user id, or a client id")
    actor_client: str | None = Field(description="the OAuth client the actor used")
    action: str = Field(examples=["read"])
    resource_type: str = Field(examples=["appointments.appointment"])
    resource_id: str
    data_subject: str | None = Field(description="whose data it is (a user id)")
    fields: list[str] = Field(examples=[["answers", "message"]])
    purpose: str | None
    recorded_at: datetime
    previous_hash: str = Field(description="hex SHA-256 of the entry before (64 zeros for the first)")
    hash: str = Field(description="hex SHA-256 of previous_hash and this entry's RFC 8785 JSON")

    @classmethod
    def from_domain(cls, stored: StoredEntry) -> AuditEntryRead:
        entry = stored.entry
        return cls(
            position=entry.position,
            event_id=entry.event_id,
            service=entry.service,
            actor=entry.actor,
            actor_client=entry.actor_client,
            action=entry.action,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            data_subject=entry.data_subject,
            fields=list(entry.fields),
            purpose=entry.purpose,
            recorded_at=entry.recorded_at,
            previous_hash=stored.previous_hash,
            hash=stored.hash,
        )


class BrokenLinkRead(BaseModel):
    position: int
    reason: Literal["hash-mismatch", "previous-mismatch", "position-gap"] = Field(
        description="hash-mismatch: the entry was changed; previous-mismatch: an entry before it was changed or "
        "removed; position-gap: entries are missing"
    )


class AuditVerificationRead(BaseModel):
    intact: bool
    checked: int = Field(description="entries recomputed (up to and including the first broken one)")
    last_hash: str = Field(description="hash of the last entry checked: keep it elsewhere as an anchor")
    first_broken: BrokenLinkRead | None

    @classmethod
    def from_domain(cls, check: ChainCheck) -> AuditVerificationRead:
        broken = check.first_broken
        return cls(
            intact=check.is_intact,
            checked=check.checked,
            last_hash=check.last_hash,
            first_broken=None if broken is None else BrokenLinkRead(position=broken.position, reason=broken.reason),
        )
