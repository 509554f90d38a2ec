"""The Appointment search parameters of the FHIR facade, read from a query string (FHIR R4 §3.1.1 Search).

Understood: ``patient``, ``practitioner``, ``location``, ``actor`` (references; a comma means "any of"),
``date`` (``Appointment.start``, prefixes ``eq ne gt ge lt le``), ``status`` (tokens), ``_count`` and the
paging ``cursor``. Repeating a parameter means "all of" (FHIR R4 search §3.1.1.4.4 "Composite/AND/OR").
Unknown parameters are ignored unless the client asks for ``Prefer: handling=strict``; an unsupported
modifier or prefix is always refused (FHIR R4 search §3.1.1.4).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from kairos.appointments.domain.appointment import Status

STATUS_SYSTEM = "http://hl7.org/fhir/appointmentstatus"
DEFAULT_COUNT = 50
MAX_COUNT = 200
CURSOR = "cursor"

REFERENCE_PARAMETERS: dict[str, frozenset[str]] = {
    "patient": frozenset({"Patient"}),
    "practitioner": frozenset({"Practitioner"}),
    "location": frozenset({"Location"}),
    "actor": frozenset({"Patient", "Practitioner", "Location", "Device"}),
}
SEARCH_PARAMETERS = (*REFERENCE_PARAMETERS, "date", "status")

_DATE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2}))?)?)?"
)
_PREFIX = re.compile(r"(?P<prefix>[a-z]{2})(?=\d)")
SUPPORTED_PREFIXES = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
KNOWN_PREFIXES = SUPPORTED_PREFIXES | {"sa", "eb", "ap"}


class SearchError(Exception):
    """The search cannot be run as asked; ``code`` is the FHIR issue type (``invalid``, ``not-supported``)."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DateCriterion:
    """``date=<prefix><value>``: the value stands for its whole implicit range [low, high) (FHIR R4 §3.1.1.4.2)."""

    prefix: str
    low: datetime
    high: datetime

    def matches(self, starts_at: datetime) -> bool:
        """Whether an appointment starting at ``starts_at`` (a point in time) is found by this criterion."""
        match self.prefix:
            case "eq":
                return self.low <= starts_at < self.high
            case "ne":
                return not self.low <= starts_at < self.high
            case "gt":
                return starts_at >= self.high
            case "ge":
                return starts_at >= self.low
            case "lt":
                return starts_at < self.low
            case _:  # le
                return starts_at < self.high


@dataclass(frozen=True)
class ReferenceValue:
    resource_type: str | None  # None: any participant with this id (``actor=123``)
    id: str


@dataclass(frozen=True)
class AppointmentSearch:
    references: tuple[tuple[str, tuple[ReferenceValue, ...]], ...] = ()  # each (parameter, any of values)
    dates: tuple[DateCriterion, ...] = ()
    statuses: tuple[frozenset[Status], ...] = ()
    count: int = DEFAULT_COUNT
    cursor: str | None = None
    applied: tuple[tuple[str, str], ...] = ()  # the parameters used, as the Bundle's self link shows them

    def next_page(self, cursor: str) -> tuple[tuple[str, str], ...]:
        return (*((name, value) for name, value in self.applied if name != CURSOR), (CURSOR, cursor))


def parse_date(text: str) -> DateCriterion:
    """``ge2027-03-01``, ``lt2027-03-01T10:00:00+01:00``, ``2027-03`` … A date without a time is a UTC day."""
    # An unencoded "+" in a query string arrives as a space.
    value = text.strip().replace(" ", "+")
    prefix = "eq"
    matched_prefix = _PREFIX.match(value)
    if matched_prefix is not None:
        prefix = matched_prefix["prefix"]
        value = value[2:]
        if prefix not in KNOWN_PREFIXES:
            raise SearchError(f"date: {prefix!r} is not a search prefix")
        if prefix not in SUPPORTED_PREFIXES:
            raise SearchError(f"date: the prefix {prefix!r} is not supported", code="not-supported")
    matched = _DATE.fullmatch(value)
    if matched is None:
        raise SearchError(
            f"date: {text!r} is not a FHIR date or dateTime (a time needs its zone, e.g. 2027-03-01T09:00:00Z)"
        )
    try:
        low, high = _range(matched)
    except ValueError as error:
        raise SearchError(f"date: {text!r} is not a valid date ({error})") from error
    return DateCriterion(prefix, low, high)


def _range(matched: re.Match[str]) -> tuple[datetime, datetime]:
    year, month, day = matched["year"], matched["month"], matched["day"]
    if month is None:
        return datetime(int(year), 1, 1, tzinfo=UTC), datetime(int(year) + 1, 1, 1, tzinfo=UTC)
    if day is None:
        first = datetime(int(year), int(month), 1, tzinfo=UTC)
        return first, (first + timedelta(days=31)).replace(day=1)
    if matched["hour"] is None:
        midnight = datetime(int(year), int(month), int(day), tzinfo=UTC)
        return midnight, midnight + timedelta(days=1)
    start = datetime.fromisoformat(matched[0]).astimezone(UTC)
    fraction = matched["fraction"]
    if fraction is not None:
        precision = timedelta(microseconds=10 ** max(0, 6 - len(fraction)))
    elif matched["second"] is not None:
        precision = timedelta(seconds=1)
    else:
        precision = timedelta(minutes=1)
    return start, start + precision


def parse_reference(text: str, *, parameter: str) -> ReferenceValue:
    """``123``, ``Patient/123`` or ``https://…/fhir/R4/Patient/123``; the type must suit the parameter."""
    types = REFERENCE_PARAMETERS[parameter]
    segments = text.strip().split("/")
    if len(segments) == 1:
        resource_type, identifier = (next(iter(types)) if len(types) == 1 else None), segments[0]
    else:
        resource_type, identifier = segments[-2], segments[-1]
        if resource_type not in types:
            raise SearchError(f"{parameter}: {text!r} is not a reference to {' or '.join(sorted(types))}")
    if not identifier:
        raise SearchError(f"{parameter}: {text!r} names no resource")
    return ReferenceValue(resource_type, identifier)


def parse_statuses(text: str) -> frozenset[Status]:
    found = set()
    for token in text.split(","):
        system, bar, code = token.strip().rpartition("|")
        if bar and system not in {"", STATUS_SYSTEM}:
            raise SearchError(f"status: {token!r} is not from {STATUS_SYSTEM}")
        try:
            found.add(Status(code))
        except ValueError as error:
            raise SearchError(f"status: {code!r} is not a FHIR R4 Appointment.status") from error
    return frozenset(found)


def parse_appointment_search(parameters: Iterable[tuple[str, str]], *, strict: bool = False) -> AppointmentSearch:
    references: list[tuple[str, tuple[ReferenceValue, ...]]] = []
    dates: list[DateCriterion] = []
    statuses: list[frozenset[Status]] = []
    count, cursor = DEFAULT_COUNT, None
    applied: list[tuple[str, str]] = []
    for name, value in parameters:
        base, colon, modifier = name.partition(":")
        if colon and base in {*SEARCH_PARAMETERS, "_count", CURSOR}:
            raise SearchError(f"{name}: the modifier :{modifier} is not supported", code="not-supported")
        if not value.strip() and base in {*SEARCH_PARAMETERS, "_count", CURSOR}:
            continue  # a parameter without a value is ignored
        if base in REFERENCE_PARAMETERS:
            references.append((base, tuple(parse_reference(part, parameter=base) for part in value.split(","))))
        elif base == "date":
            if "," in value:
                raise SearchError("date: a list of dates (any of) is not supported", code="not-supported")
            dates.append(parse_date(value))
        elif base == "status":
            statuses.append(parse_statuses(value))
        elif base == "_count":
            count = _count(value)
            continue  # applied once, below
        elif base == CURSOR:
            cursor = value
        elif strict:
            raise SearchError(f"{name}: not a search parameter of this server's Appointment", code="not-supported")
        else:
            continue
        applied.append((base, value))
    applied.append(("_count", str(count)))
    return AppointmentSearch(
        references=tuple(references),
        dates=tuple(dates),
        statuses=tuple(statuses),
        count=count,
        cursor=cursor,
        applied=tuple(applied),
    )


def _count(value: str) -> int:
    try:
        count = int(value)
    except ValueError as error:
        raise SearchError(f"_count: {value!r} is not a whole number") from error
    if count < 1:
        raise SearchError("_count: at least 1 (a count-only search is not supported)", code="not-supported")
    return min(count, MAX_COUNT)  # a server may return fewer than asked (FHIR R4 §3.1.1.5.6)


def as_uuid(text: str) -> UUID | None:
    """Our resources' and appointments' ids are UUIDs; any other id names nothing here."""
    try:
        return UUID(text)
    except ValueError:
        return None
