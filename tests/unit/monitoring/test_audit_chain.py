"""The audit trail's hash chain: canonical form, linking, and where verification finds a break."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from kairos.monitoring.domain.audit_chain import GENESIS, AuditEntry, StoredEntry, link_hash, verify

AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def entry(position: int, **changes: object) -> AuditEntry:
    base = AuditEntry(
        position=position,
        event_id=f"event-{position}",
        service="appointments",
        actor="staff-1",
        actor_client=None,
        action="read",
        resource_type="appointments.appointment",
        resource_id=f"appointment-{position}",
        data_subject="patient-1",
        fields=("answers", "message"),
        purpose=None,
        recorded_at=AT + timedelta(minutes=position),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def chain(count: int) -> list[StoredEntry]:
    stored, previous = [], GENESIS
    for position in range(1, count + 1):
        item = entry(position)
        digest = link_hash(previous, item)
        stored.append(StoredEntry(entry=item, previous_hash=previous, hash=digest))
        previous = digest
    return stored


def test_the_canonical_form_is_rfc_8785_json_with_times_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    same_instant = entry(1, recorded_at=entry(1).recorded_at.astimezone(paris))
    assert same_instant.canonical() == entry(1).canonical()
    assert entry(1).canonical().startswith(b'{"action":"read","actor":"staff-1","actor_client":null,')
    assert b'"recorded_at":"2027-03-01T09:01:00.000000+00:00"' in entry(1).canonical()


def test_each_hash_covers_the_previous_hash_and_every_field() -> None:
    first = link_hash(GENESIS, entry(1))
    assert len(first) == 64
    assert link_hash("f" * 64, entry(1)) != first
    for change in ({"actor": "staff-2"}, {"data_subject": None}, {"fields": ("message",)}, {"event_id": "other"}):
        assert link_hash(GENESIS, entry(1, **change)) != first, change
    assert link_hash(GENESIS, dataclasses.replace(entry(1), position=2)) != first  # an entry cannot be moved


def test_an_untouched_chain_verifies() -> None:
    check = verify(chain(5))
    assert check.is_intact
    assert check.checked == 5
    assert check.last_hash == chain(5)[-1].hash


def test_a_changed_entry_is_the_first_broken_link() -> None:
    stored = chain(5)
    stored[2] = dataclasses.replace(stored[2], entry=entry(3, data_subject="patient-2"))
    check = verify(stored)
    assert check.first_broken is not None
    assert (check.first_broken.position, check.first_broken.reason) == (3, "hash-mismatch")
    assert check.checked == 3


def test_a_changed_entry_with_its_hash_recomputed_breaks_the_next_link() -> None:
    stored = chain(5)
    forged = entry(3, actor="someone")
    stored[2] = StoredEntry(entry=forged, previous_hash=stored[1].hash, hash=link_hash(stored[1].hash, forged))
    check = verify(stored)
    assert check.first_broken is not None
    assert (check.first_broken.position, check.first_broken.reason) == (4, "previous-mismatch")


def test_a_removed_entry_leaves_a_gap() -> None:
    stored = chain(5)
    del stored[1]
    check = verify(stored)
    assert check.first_broken is not None
    assert (check.first_broken.position, check.first_broken.reason) == (3, "position-gap")
