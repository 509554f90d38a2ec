"""iCalendar (RFC 5545) in and out: busy time read from an external calendar, and appointments written as events.

Reading: every VEVENT that is not TRANSPARENT or CANCELLED is busy, with its recurrences expanded (RRULE,
RDATE, EXDATE, and RECURRENCE-ID overrides replacing the occurrence they name), and every FREEBUSY period of
a VFREEBUSY whose FBTYPE is busy. A date without a time (an all-day event) is busy from midnight to midnight,
and a time without a zone ("floating") is read on the resource's wall clock, both in the resource's zone.
Only times are kept, never summaries, attendees or descriptions. Overlapping blocks are merged.

Writing: one VEVENT per appointment, with a UID that stays the same across changes, SEQUENCE its version,
times in UTC, and STATUS from the appointment's status (RFC 5545 §3.8.1.11).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar, Component, Event

from kairos.appointments.domain.availability import ImportedBusyTime

PRODID = "-//Kairos//Appointments//EN"
MAX_BUSY_BLOCKS = 20_000  # per calendar and window: a runaway rule is cut here, not expanded forever
BUSY_FREEBUSY_TYPES = frozenset({"BUSY", "BUSY-UNAVAILABLE", "BUSY-TENTATIVE"})

# FHIR R4 Appointment.status → RFC 5545 VEVENT STATUS.
EVENT_STATUS = {
    "proposed": "TENTATIVE",
    "pending": "TENTATIVE",
    "waitlist": "TENTATIVE",
    "booked": "CONFIRMED",
    "arrived": "CONFIRMED",
    "checked-in": "CONFIRMED",
    "fulfilled": "CONFIRMED",
    "cancelled": "CANCELLED",
    "noshow": "CANCELLED",
    "entered-in-error": "CANCELLED",
}


class InvalidCalendar(ValueError):
    """The data is not an iCalendar object this service can read."""


# --- reading ---------------------------------------------------------------------------------------------


def busy_times(data: bytes, *, zone: str, window_start: datetime, window_end: datetime) -> list[ImportedBusyTime]:
    """The busy time an iCalendar object gives within ``[window_start, window_end)``, merged, in time order."""
    try:
        calendar = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise InvalidCalendar(f"not an iCalendar object: {error}") from error
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise InvalidCalendar("not an iCalendar object: no VCALENDAR")
    local = ZoneInfo(zone)
    window = (window_start.astimezone(UTC), window_end.astimezone(UTC))
    try:
        blocks = list(_blocks(calendar, local, window))
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise InvalidCalendar(f"the calendar cannot be read: {error}") from error
    return [ImportedBusyTime(starts_at, ends_at) for starts_at, ends_at in _merged(blocks)]


def _blocks(
    calendar: Calendar, zone: ZoneInfo, window: tuple[datetime, datetime]
) -> Iterator[tuple[datetime, datetime]]:
    events = list(calendar.walk("VEVENT"))
    # Occurrences replaced by an override (same UID with a RECURRENCE-ID) are not taken from the rule.
    overridden: dict[str, set[datetime]] = {}
    for event in events:
        if "RECURRENCE-ID" in event:
            overridden.setdefault(str(event.get("UID", "")), set()).add(_instant(event.decoded("RECURRENCE-ID"), zone))
    count = 0
    for event in events:
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        replaced = set() if "RECURRENCE-ID" in event else overridden.get(str(event.get("UID", "")), set())
        for block in _occurrences(event, zone, window, replaced):
            count += 1
            if count > MAX_BUSY_BLOCKS:
                return
            yield block
    for freebusy in calendar.walk("VFREEBUSY"):
        for block in _freebusy(freebusy, window):
            count += 1
            if count > MAX_BUSY_BLOCKS:
                return
            yield block


def _occurrences(
    event: Component, zone: ZoneInfo, window: tuple[datetime, datetime], replaced: set[datetime]
) -> Iterator[tuple[datetime, datetime]]:
    if "DTSTART" not in event:
        return
    start_value = event.decoded("DTSTART")
    all_day = not isinstance(start_value, datetime)
    start = _instant(start_value, zone)
    if "DTEND" in event:
        length = _instant(event.decoded("DTEND"), zone) - start
    elif "DURATION" in event:
        length = event.decoded("DURATION")
    else:
        length = timedelta(days=1) if all_day else timedelta(0)  # RFC 5545 §3.6.1
    if length <= timedelta(0):
        return
    if "RRULE" not in event and "RDATE" not in event:
        starts: Iterable[datetime] = [start]
    else:
        starts = _expanded(event, start_value, zone, window[0] - length, window[1])
    for occurrence in starts:
        if occurrence in replaced:
            continue
        ends = occurrence + length
        if all_day:
            # An all-day event keeps to local midnights across a daylight-saving change.
            local_day = occurrence.astimezone(zone).date()
            ends = _instant(local_day + timedelta(days=round(length / timedelta(days=1))), zone)
        if ends > window[0] and occurrence < window[1]:
            yield max(occurrence, window[0]), min(ends, window[1])


def _expanded(
    event: Component, start_value: date | datetime, zone: ZoneInfo, after: datetime, before: datetime
) -> list[datetime]:
    # Expanded on the event's own wall clock (so 09:00 stays 09:00 across daylight-saving changes).
    if isinstance(start_value, datetime):
        local_start = start_value if start_value.tzinfo is not None else start_value.replace(tzinfo=zone)
    else:
        local_start = datetime.combine(start_value, time(), tzinfo=zone)
    rules = rruleset()
    for rule in _as_list(event.get("RRULE")):
        rules.rrule(rrulestr(rule.to_ical().decode(), dtstart=local_start))  # type: ignore[arg-type]
    for value in _as_list(event.get("RDATE")):
        for item in value.dts:
            rules.rdate(_instant(item.dt, zone))
    for value in _as_list(event.get("EXDATE")):
        for item in value.dts:
            rules.exdate(_instant(item.dt, zone))
    return [_instant(item, zone) for item in rules.between(after, before, inc=True)]


def _freebusy(component: Any, window: tuple[datetime, datetime]) -> Iterator[tuple[datetime, datetime]]:
    for value in _as_list(component.get("FREEBUSY")):
        if str(value.params.get("FBTYPE", "BUSY")).upper() not in BUSY_FREEBUSY_TYPES:
            continue
        for starts, ends in _periods(value):
            if ends > window[0] and starts < window[1]:
                yield max(starts, window[0]), min(ends, window[1])


def _periods(value: Any) -> list[tuple[datetime, datetime]]:
    found = []
    for item in value.dts if hasattr(value, "dts") else [value]:
        period = getattr(item, "dt", item)
        if isinstance(period, tuple) and len(period) == 2:
            starts, second = period
            ends = starts + second if isinstance(second, timedelta) else second
            found.append((starts.astimezone(UTC), ends.astimezone(UTC)))
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None and value.utcoffset() is not None else value.replace(tzinfo=zone)
        return aware.astimezone(UTC)
    return datetime.combine(value, time(), tzinfo=zone).astimezone(UTC)


def _merged(blocks: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for starts, ends in sorted(blocks):
        if merged and starts <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((starts, ends))
    return merged


# --- writing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarEntry:
    """One appointment as a calendar shows it; what goes in ``summary`` and ``description`` is the caller's choice."""

    uid: str
    starts_at: datetime
    ends_at: datetime
    status: str  # the appointment's FHIR R4 status
    sequence: int
    last_modified: datetime
    summary: str
    description: str | None = None
    location: str | None = None


def calendar_of(entries: Sequence[CalendarEntry], *, name: str, stamped_at: datetime) -> bytes:
    """An iCalendar object (METHOD:PUBLISH) with one VEVENT per entry."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamped_at.astimezone(UTC))
        event.add("dtstart", entry.starts_at.astimezone(UTC))
        event.add("dtend", entry.ends_at.astimezone(UTC))
        event.add("sequence", entry.sequence)
        event.add("last-modified", entry.last_modified.astimezone(UTC))
        event.add("status", EVENT_STATUS.get(entry.status, "TENTATIVE"))
        event.add("transp", "TRANSPARENT" if EVENT_STATUS.get(entry.status) == "CANCELLED" else "OPAQUE")
        event.add("summary", entry.summary)
        if entry.description:
            event.add("description", entry.description)
        if entry.location:
            event.add("location", entry.location)
        calendar.add_component(event)
    written: bytes = calendar.to_ical()
    return written
