"""The audit trail as a hash chain: each entry's hash covers the previous entry's hash and the entry itself,
so changing, removing or reordering any entry breaks every link after it.

``hash = SHA-256(previous hash (64 hex digits) || canonical JSON of the entry)``, the canonical form being
RFC 8785 (JSON Canonicalization Scheme); the first entry follows ``GENESIS`` (64 zeros). The entry's
``position`` (1, 2, …, without gaps) is part of what is hashed, so an entry cannot be moved either.
Removing the newest entries leaves a valid shorter chain: only an anchor kept elsewhere (the last hash,
published or copied out) shows that; see docs/audit.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import rfc8785

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One ``audit.recorded`` event as the trail keeps it (names of fields, never their values)."""

    position: int
    event_id: str
    service: str
    actor: str
    actor_client: str | None
    action: str
    resource_type: str
    resource_id: str
    data_subject: str | None
    fields: tuple[str, ...]
    purpose: str | None
    recorded_at: datetime

    def canonical(self) -> bytes:
        """RFC 8785 canonical JSON of the entry; times in UTC with microseconds, so one instant has one form."""
        document: dict[str, Any] = {
            "position": self.position,
            "event_id": self.event_id,
            "service": self.service,
            "actor": self.actor,
            "actor_client": self.actor_client,
            "action": self.action,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "data_subject": self.data_subject,
            "fields": list(self.fields),
            "purpose": self.purpose,
            "recorded_at": self.recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
        }
        return rfc8785.dumps(document)


def link_hash(previous_hash: str, entry: AuditEntry) -> str:
    """The hash an entry stores: it binds the entry to everything before it."""
    return hashlib.sha256(previous_hash.encode("ascii") + entry.canonical()).hexdigest()


@dataclass(frozen=True)
class StoredEntry:
    entry: AuditEntry
    previous_hash: str
    hash: str


@dataclass(frozen=True)
class BrokenLink:
    position: int
    # hash-mismatch: the entry itself was changed; previous-mismatch: the entry before it was changed or
    # removed; position-gap: entries are missing.
    reason: Literal["hash-mismatch", "previous-mismatch", "position-gap"]


@dataclass
class ChainCheck:
    """Walks the stored entries in order; remembers the first broken link."""

    checked: int = 0
    last_hash: str = GENESIS
    last_position: int = 0
    first_broken: BrokenLink | None = None

    @property
    def is_intact(self) -> bool:
        return self.first_broken is None

    def feed(self, stored: StoredEntry) -> None:
        if self.first_broken is not None:
            return
        self.checked += 1
        position = stored.entry.position
        if position != self.last_position + 1:
            self.first_broken = BrokenLink(position, "position-gap")
        elif stored.previous_hash != self.last_hash:
            self.first_broken = BrokenLink(position, "previous-mismatch")
        elif link_hash(stored.previous_hash, stored.entry) != stored.hash:
            self.first_broken = BrokenLink(position, "hash-mismatch")
        self.last_hash = stored.hash
        self.last_position = position


def verify(entries: Iterable[StoredEntry]) -> ChainCheck:
    """Recompute the chain over entries given in position order."""
    check = ChainCheck()
    for stored in entries:
        check.feed(stored)
        if not check.is_intact:
            break
    return check
