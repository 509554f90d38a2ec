"""FHIR R4 search parameters of Appointment: date prefixes over a value's implicit range, references, tokens,
and which parameters are applied, ignored or refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kairos.appointments.domain.appointment import Status
from kairos.appointments.fhir_search import (
    MAX_COUNT,
    ReferenceValue,
    SearchError,
    parse_appointment_search,
    parse_date,
    parse_reference,
)

MARCH_1 = datetime(2027, 3, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
BEFORE, FIRST_MOMENT, LAST_MOMENT, AFTER = (
    MARCH_1 - SECOND,
    MARCH_1,
    MARCH_1 + timedelta(days=1) - SECOND,
    MARCH_1 + timedelta(days=1),
)


@pytest.mark.parametrize(
    ("prefix", "found"),
    [
        ("", {FIRST_MOMENT, LAST_MOMENT}),  # eq: within the day
        ("eq", {FIRST_MOMENT, LAST_MOMENT}),
        ("ne", {BEFORE, AFTER}),
        ("ge", {FIRST_MOMENT, LAST_MOMENT, AFTER}),
        ("gt", {AFTER}),  # after the whole day
        ("le", {BEFORE, FIRST_MOMENT, LAST_MOMENT}),
        ("lt", {BEFORE}),  # before the whole day
    ],
)
def test_a_date_prefix_compares_the_start_with_the_values_whole_range(prefix: str, found: set[datetime]) -> None:
    criterion = parse_date(f"{prefix}2027-03-01")
    assert {moment for moment in (BEFORE, FIRST_MOMENT, LAST_MOMENT, AFTER) if criterion.matches(moment)} == found


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("2027", datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)),
        ("2027-12", datetime(2027, 12, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)),
        ("2028-02", datetime(2028, 2, 1, tzinfo=UTC), datetime(2028, 3, 1, tzinfo=UTC)),
        ("2027-03-01", MARCH_1, MARCH_1 + timedelta(days=1)),
        ("2027-03-01T10:00Z", MARCH_1 + timedelta(hours=10), MARCH_1 + timedelta(hours=10, minutes=1)),
        ("2027-03-01T10:00:00+01:00", MARCH_1 + timedelta(hours=9), MARCH_1 + timedelta(hours=9, seconds=1)),
        ("2027-03-01T10:00:00 01:00", MARCH_1 + timedelta(hours=9), MARCH_1 + timedelta(hours=9, seconds=1)),
        (
            "2027-03-01T10:00:00.5-02:00",
            MARCH_1 + timedelta(hours=12, milliseconds=500),
            MARCH_1 + timedelta(hours=12, milliseconds=600),
        ),
    ],
)
def test_a_date_stands_for_the_range_its_precision_gives(value: str, low: datetime, high: datetime) -> None:
    criterion = parse_date(value)
    assert (criterion.low, criterion.high) == (low, high)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("sa2027-03-01", "not-supported"),
        ("eb2027-03-01", "not-supported"),
        ("ap2027-03-01", "not-supported"),
        ("xx2027-03-01", "invalid"),
        ("2027-03-01T10:00", "invalid"),  # a time without its zone
        ("2027-13", "invalid"),
        ("2027-02-30", "invalid"),
        ("03/01/2027", "invalid"),
        ("", "invalid"),
    ],
)
def test_a_date_that_cannot_be_compared_is_refused(value: str, code: str) -> None:
    with pytest.raises(SearchError) as refused:
        parse_date(value)
    assert refused.value.code == code


def test_a_reference_may_be_an_id_a_typed_id_or_an_absolute_url() -> None:
    assert parse_reference("p-1", parameter="patient") == ReferenceValue("Patient", "p-1")
    assert parse_reference("Patient/p-1", parameter="patient") == ReferenceValue("Patient", "p-1")
    assert parse_reference("https://kairos.test/fhir/R4/Patient/p-1", parameter="patient") == ReferenceValue(
        "Patient", "p-1"
    )
    assert parse_reference("r-1", parameter="actor") == ReferenceValue(None, "r-1")  # any participant
    assert parse_reference("Device/r-1", parameter="actor") == ReferenceValue("Device", "r-1")
    with pytest.raises(SearchError):
        parse_reference("Practitioner/r-1", parameter="patient")
    with pytest.raises(SearchError):
        parse_reference("Patient/", parameter="patient")


def test_repeating_a_parameter_means_all_of_and_a_comma_any_of() -> None:
    search = parse_appointment_search(
        [
            ("patient", "a,b"),
            ("patient", "b"),
            ("status", "booked,http://hl7.org/fhir/appointmentstatus|pending"),
            ("date", "ge2027-03-01"),
            ("date", "lt2027-04-01"),
        ]
    )
    assert search.references == (
        ("patient", (ReferenceValue("Patient", "a"), ReferenceValue("Patient", "b"))),
        ("patient", (ReferenceValue("Patient", "b"),)),
    )
    assert search.statuses == (frozenset({Status.BOOKED, Status.PENDING}),)
    assert [criterion.prefix for criterion in search.dates] == ["ge", "lt"]


def test_unknown_parameters_are_ignored_unless_strict_and_the_self_link_shows_only_what_was_applied() -> None:
    given = [("status", "booked"), ("_sort", "date"), ("_format", "json"), ("patient", "")]
    lenient = parse_appointment_search(given)
    assert lenient.applied == (("status", "booked"), ("_count", "50"))
    with pytest.raises(SearchError) as refused:
        parse_appointment_search(given, strict=True)
    assert refused.value.code == "not-supported"


@pytest.mark.parametrize(
    "parameters",
    [
        [("patient:identifier", "x")],
        [("date:missing", "true")],
        [("status", "arrived,planned")],
        [("date", "2027-03-01,2027-03-02")],
        [("_count", "0")],
        [("_count", "-3")],
        [("_count", "ten")],
    ],
)
def test_modifiers_unknown_codes_date_lists_and_bad_counts_are_refused(parameters: list[tuple[str, str]]) -> None:
    with pytest.raises(SearchError):
        parse_appointment_search(parameters)


def test_the_count_is_capped_and_the_next_page_keeps_the_search_with_a_new_cursor() -> None:
    search = parse_appointment_search([("status", "booked"), ("_count", "1000"), ("cursor", "old")])
    assert search.count == MAX_COUNT
    assert search.cursor == "old"
    assert search.next_page("new") == (("status", "booked"), ("_count", str(MAX_COUNT)), ("cursor", "new"))
