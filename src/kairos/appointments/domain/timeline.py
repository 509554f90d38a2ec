"""Instants on a time line and wall-clock times in a zone: the arithmetic the slot engine stands on.

Wall-clock times are naive datetimes read in a schedule's zone. Turning one into an instant follows
RFC 5545 §3.3.5: an ambiguous time (the repeated hour when clocks go back) means its first occurrence,
and a time that does not exist (the skipped hour when clocks go forward) is read with the offset in
force before the gap, so 02:30 on the night Paris moves to summer time is the instant 03:30 CEST.
With ``zoneinfo`` that is exactly ``fold=0``.

Spans are half-open ``[start, end)`` pairs of aware UTC datetimes.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

Span = tuple[datetime, datetime]
Item = TypeVar("Item")


def wall_clock_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant a naive wall-clock time in ``zone`` stands for (RFC 5545 §3.3.5, ``fold=0``)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def exists_on_wall_clock(local: datetime, zone: ZoneInfo) -> bool:
    """Whether clocks in ``zone`` ever show ``local``: false inside the gap when they go forward."""
    return wall_clock_to_utc(local, zone).astimezone(zone).replace(tzinfo=None) == local


def utc_to_wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    return wall_clock_to_utc(datetime.combine(day, time()), zone)


def merged(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint spans covering the same instants; touching spans become one."""
    result: list[Span] = []
    for start, end in sorted(span for span in spans if span[0] < span[1]):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def clipped(span: Span, limits: Span) -> Span | None:
    start, end = max(span[0], limits[0]), min(span[1], limits[1])
    return (start, end) if start < end else None


class SpanSet:
    """A set of instants held as sorted disjoint spans; membership questions cost a binary search."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self.spans = merged(spans)
        self._starts = [start for start, _ in self.spans]

    def covers(self, start: datetime, end: datetime) -> bool:
        index = bisect_right(self._starts, start) - 1
        return index >= 0 and self.spans[index][1] >= end

    def contains(self, instant: datetime) -> bool:
        index = bisect_right(self._starts, instant) - 1
        return index >= 0 and self.spans[index][1] > instant

    def parts_within(self, start: datetime, end: datetime) -> list[Span]:
        """The pieces of ``[start, end)`` that belong to this set."""
        index = max(bisect_right(self._starts, start) - 1, 0)
        parts: list[Span] = []
        while index < len(self.spans) and self.spans[index][0] < end:
            part = clipped(self.spans[index], (start, end))
            if part:
                parts.append(part)
            index += 1
        return parts

    def subtracted_from(self, span: Span) -> list[Span]:
        """The pieces of ``span`` that lie outside this set."""
        pieces: list[Span] = []
        cursor = span[0]
        for removed_start, removed_end in self.parts_within(*span):
            if cursor < removed_start:
                pieces.append((cursor, removed_start))
            cursor = removed_end
        if cursor < span[1]:
            pieces.append((cursor, span[1]))
        return pieces

    def intersection(self, other: SpanSet) -> SpanSet:
        return SpanSet(part for span in other.spans for part in self.parts_within(*span))


class OverlapIndex(Generic[Item]):
    """Items with spans, sorted by start, with a running maximum of ends.

    Finding an item that overlaps a span walks back from the last item starting before the span's end
    and stops as soon as no earlier item can reach the span's start: a binary search plus the few
    neighbours that actually overlap, instead of a scan over every item.
    """

    def __init__(self, entries: Iterable[tuple[Span, Item]]) -> None:
        ordered = sorted(entries, key=lambda entry: entry[0])
        self._starts = [span[0] for span, _ in ordered]
        self._ends = [span[1] for span, _ in ordered]
        self._items: Sequence[Item] = [item for _, item in ordered]
        self._latest_end: list[datetime] = []
        for end in self._ends:
            self._latest_end.append(max(end, self._latest_end[-1]) if self._latest_end else end)

    def any_overlapping(self, start: datetime, end: datetime, matching: Callable[[Item], bool]) -> bool:
        index = bisect_left(self._starts, end) - 1
        while index >= 0 and self._latest_end[index] > start:
            if self._ends[index] > start and matching(self._items[index]):
                return True
            index -= 1
        return False


def steps(first: datetime, step: timedelta, *, skip_before: datetime) -> Iterable[datetime]:
    """``first``, ``first + step``, … (wall-clock arithmetic), starting at the last step not after ``skip_before``."""
    skipped = max((skip_before - first) // step, 0)
    label = first + step * skipped
    while True:
        yield label
        label += step
