"""iCalendar in and out, the directory's earliest free time, SSRF address checks, Slot search parsing and
slot-change notifications: pure logic, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar

from kairos.appointments.calendar_fetch import CalendarFetchFailed, is_public, normalised_url
from kairos.appointments.domain.availability import (
    AppointmentType,
    Booking,
    ImportedBusyTime,
    RecurringPeriod,
    Schedule,
)
from kairos.appointments.domain.calendars import CalendarEntry, InvalidCalendar, busy_times, calendar_of
from kairos.appointments.domain.directory import Bookable, Listing, earliest_free_slot
from kairos.appointments.domain.slots import ResourceAvailability
from kairos.appointments.fhir_schedule import parse_slot_search
from kairos.appointments.fhir_search import SearchError
from kairos.appointments.live import SlotChange, parse_notification

WINDOW = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))


def ics(*lines: str) -> bytes:
    return (
        "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", *lines, "END:VCALENDAR"]) + "\r\n"
    ).encode()


def busy(data: bytes, zone: str = "Europe/Paris") -> list[tuple[datetime, datetime]]:
    return [(b.starts_at, b.ends_at) for b in busy_times(data, zone=zone, window_start=WINDOW[0], window_end=WINDOW[1])]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_weekly_event_is_expanded_on_its_wall_clock_across_daylight_saving() -> None:
    found = busy(
        ics(
            "BEGIN:VEVENT",
            "UID:a",
            "DTSTART;TZID=Europe/Paris:20270322T090000",
            "DTEND;TZID=Europe/Paris:20270322T100000",
            "RRULE:FREQ=WEEKLY;COUNT=2",
            "END:VEVENT",
        )
    )
    assert found == [(utc(2027, 3, 22, 8), utc(2027, 3, 22, 9)), (utc(2027, 3, 29, 7), utc(2027, 3, 29, 8))]


def test_exdates_overrides_transparent_and_cancelled_events() -> None:
    found = busy(
        ics(
            "BEGIN:VEVENT",
            "UID:r",
            "DTSTART:20270301T100000Z",
            "DURATION:PT30M",
            "RRULE:FREQ=DAILY;COUNT=3",
            "EXDATE:20270302T100000Z",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:r",
            "RECURRENCE-ID:20270303T100000Z",
            "DTSTART:20270303T150000Z",
            "DTEND:20270303T153000Z",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:t",
            "DTSTART:20270304T100000Z",
            "DTEND:20270304T110000Z",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:c",
            "DTSTART:20270305T100000Z",
            "DTEND:20270305T110000Z",
            "STATUS:CANCELLED",
            "END:VEVENT",
        )
    )
    assert found == [(utc(2027, 3, 1, 10), utc(2027, 3, 1, 10, 30)), (utc(2027, 3, 3, 15), utc(2027, 3, 3, 15, 30))]


def test_all_day_and_floating_times_are_read_in_the_resource_zone_and_overlaps_merge() -> None:
    found = busy(
        ics(
            "BEGIN:VEVENT",
            "UID:d",
            "DTSTART;VALUE=DATE:20270310",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:f",
            "DTSTART:20270310T230000",
            "DTEND:20270311T010000",
            "END:VEVENT",
        ),
        zone="Europe/Paris",
    )
    assert found == [(utc(2027, 3, 9, 23), utc(2027, 3, 11, 0))]


def test_freebusy_periods_count_when_busy() -> None:
    found = busy(
        ics(
            "BEGIN:VFREEBUSY",
            "UID:fb",
            "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20270301T080000Z/PT1H",
            "FREEBUSY;FBTYPE=FREE:20270301T120000Z/PT1H",
            "END:VFREEBUSY",
        )
    )
    assert found == [(utc(2027, 3, 1, 8), utc(2027, 3, 1, 9))]


def test_only_the_window_is_kept() -> None:
    found = busy(ics("BEGIN:VEVENT", "UID:y", "DTSTART:20270228T230000Z", "DTEND:20270301T010000Z", "END:VEVENT"))
    assert found == [(utc(2027, 3, 1), utc(2027, 3, 1, 1))]


@pytest.mark.parametrize("data", [b"", b"hello", b"BEGIN:VCARD\r\nEND:VCARD\r\n"])
def test_what_is_not_a_calendar_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidCalendar):
        busy(data)


def test_appointments_written_as_events_parse_back_with_their_status() -> None:
    stamped = utc(2027, 1, 1, 12)
    entries = [
        CalendarEntry(f"{status}@x", utc(2027, 3, 1, 9), utc(2027, 3, 1, 10), status, 2, stamped, "Consultation")
        for status in ("pending", "booked", "cancelled")
    ]
    parsed = Calendar.from_ical(calendar_of(entries, name="Dr. X", stamped_at=stamped))
    assert parsed["METHOD"] == "PUBLISH"
    events = {str(event["UID"]): event for event in parsed.walk("VEVENT")}
    assert {uid: str(event["STATUS"]) for uid, event in events.items()} == {
        "pending@x": "TENTATIVE",
        "booked@x": "CONFIRMED",
        "cancelled@x": "CANCELLED",
    }
    booked = events["booked@x"]
    assert booked.decoded("DTSTART") == utc(2027, 3, 1, 9)
    assert booked.decoded("DTSTAMP") == stamped
    assert int(booked["SEQUENCE"]) == 2


def schedule_from(day: date) -> Schedule:
    resource = uuid.uuid4()
    weekdays = RecurringPeriod("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", time(9), timedelta(hours=1))
    return Schedule(resource, resource, resource, "UTC", day, (weekdays,))


def test_the_earliest_free_time_is_the_first_slot_of_any_resource() -> None:
    now = utc(2027, 3, 5, 12)  # a Friday, after hours
    kind = AppointmentType("consultation", timedelta(minutes=30))
    busy_monday = schedule_from(date(2027, 3, 1))
    free_monday = schedule_from(date(2027, 3, 1))
    monday_morning = Booking(utc(2027, 3, 8, 9), utc(2027, 3, 8, 10), "consultation")
    found = earliest_free_slot(
        [
            Bookable(ResourceAvailability(busy_monday, (monday_morning,)), kind),
            Bookable(
                ResourceAvailability(free_monday, (ImportedBusyTime(utc(2027, 3, 8, 9), utc(2027, 3, 8, 9, 30)),)), kind
            ),
        ],
        now=now,
    )
    assert found is not None
    slot, _bookable = found
    assert (slot.starts_at, slot.resource_id) == (utc(2027, 3, 8, 9, 30), free_monday.resource_id)
    assert (
        earliest_free_slot([Bookable(ResourceAvailability(busy_monday, ()), kind)], now=now, horizon=timedelta(days=2))
        is None
    )


def test_a_listing_is_visible_until_it_lapses_or_expires() -> None:
    now = utc(2027, 3, 1)
    assert Listing(listed=True, expires_at=None).is_visible(now)
    assert not Listing(listed=True, expires_at=now).is_visible(now)
    assert not Listing(listed=False, expires_at=None).is_visible(now)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:127.0.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
    ],
)
def test_only_public_addresses_are_fetched_from(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_calendar_urls_are_http_or_webcal() -> None:
    assert normalised_url("webcal://cal.example/a.ics") == "https://cal.example/a.ics"
    for refused in ("file:///etc/passwd", "ftp://cal.example/a.ics", "https:///a.ics", "gopher://x"):
        with pytest.raises(CalendarFetchFailed):
            normalised_url(refused)


def test_slot_search_reads_its_window_statuses_and_types() -> None:
    now = utc(2027, 3, 1, 8)
    schedule = uuid.uuid4()
    search = parse_slot_search(
        [
            ("schedule", f"Schedule/{schedule}"),
            ("start", "ge2027-03-02"),
            ("start", "lt2027-03-04T00:00:00Z"),
            ("status", "free,busy"),
            ("service-type", "urn:kairos:fhir:appointment-type|consultation"),
        ],
        now=now,
    )
    assert search.schedule_ids == [schedule]
    assert search.window == (utc(2027, 3, 2), utc(2027, 3, 4))
    assert search.statuses == {"free", "busy"}
    assert search.service_types == {"consultation"}
    assert parse_slot_search([], now=now).window == (now, now + timedelta(days=7))
    for wrong in (
        [("status", "maybe")],
        [("start", "ge2027-03-01"), ("start", "lt2027-06-01")],
        [("schedule", "Patient/1")],
    ):
        with pytest.raises(SearchError):
            parse_slot_search(wrong, now=now)
    with pytest.raises(SearchError):
        parse_slot_search([("_sort", "start")], now=now, strict=True)


def test_notifications_are_read_and_nonsense_is_dropped() -> None:
    resource = uuid.uuid4()
    change = parse_notification(f'{{"resource_id": "{resource}", "from": "2027-03-01T09:00:00+00:00", "until": null}}')
    assert change == SlotChange(resource, utc(2027, 3, 1, 9), None)
    assert parse_notification("not json") is None
    assert parse_notification('{"resource_id": "nope"}') is None
