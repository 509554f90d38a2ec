"""Cursors are opaque to clients, survive a round trip, and every malformed one is a 400 problem."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, SmallInteger, Table, Text, select

from kairos.platform.http.pagination import PageRequest, decode_cursor, encode_cursor, keyset, page_of
from kairos.platform.http.problems import ProblemError

notes = Table(
    "notes",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("written_at", DateTime(timezone=True), nullable=False),
)
ORDER = [notes.c.written_at, notes.c.id]
rooms = Table(
    "rooms",
    MetaData(),
    Column("name", Text, nullable=False),
    Column("floor", SmallInteger, nullable=False),
    Column("number", Integer, primary_key=True),
)


def raw_cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_a_cursor_carries_the_sort_key_as_strings_and_decodes_to_them() -> None:
    written_at = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    note_id = UUID("0192f0c4-0000-7000-8000-000000000001")

    cursor = encode_cursor([written_at, 42, note_id])

    assert decode_cursor(cursor, width=3) == [str(written_at), "42", str(note_id)]


def test_a_cursor_is_url_safe_without_padding() -> None:
    cursor = encode_cursor(["?>?>?>", "ÿÿÿÿ", "a"])

    assert not set(cursor) & {"+", "/", "=", "?", "&"}


@pytest.mark.parametrize(
    ("cursor", "width"),
    [
        pytest.param("", 1, id="empty"),
        pytest.param("!!!not base64!!!", 1, id="not-base64"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(), 1, id="not-utf8"),
        pytest.param(raw_cursor({"id": "1"}), 1, id="not-a-list"),
        pytest.param(raw_cursor(["1", "2"]), 1, id="too-wide"),
        pytest.param(raw_cursor(["1"]), 2, id="too-narrow"),
        pytest.param(raw_cursor([1, 2]), 2, id="not-strings"),
    ],
)
def test_a_malformed_cursor_is_a_bad_request_problem(cursor: str, width: int) -> None:
    with pytest.raises(ProblemError) as refused:
        decode_cursor(cursor, width=width)

    assert refused.value.status == 400
    assert refused.value.type == "urn:kairos:problem:invalid-cursor"


@pytest.mark.parametrize(
    ("table", "values"),
    [
        pytest.param(notes, ["yesterday", "1"], id="not-a-time"),
        pytest.param(notes, ["2025-03-01T09:30:00+00:00", "one"], id="not-an-integer"),
        pytest.param(notes, ["2025-03-01T09:30:00+00:00", str(2**63)], id="over-bigint"),
        pytest.param(rooms, ["Blue", "1", str(2**31)], id="over-integer"),
        pytest.param(rooms, ["Blue", str(-(2**15) - 1), "1"], id="under-smallint"),
        pytest.param(rooms, ["Bl\x00ue", "1", "1"], id="nul-in-text"),
    ],
)
def test_a_cursor_whose_values_the_columns_cannot_hold_is_a_bad_request_problem(
    table: Table, values: list[str]
) -> None:
    order = list(table.c) if table is rooms else ORDER

    with pytest.raises(ProblemError) as refused:
        keyset(select(table), order, PageRequest(cursor=encode_cursor(values), limit=10))

    assert refused.value.status == 400


def test_a_cursor_at_the_edges_of_its_columns_is_accepted() -> None:
    cursor = encode_cursor(["Blue", str(-(2**15)), str(2**31 - 1)])

    statement = keyset(select(rooms), list(rooms.c), PageRequest(cursor=cursor, limit=10))

    assert "WHERE (rooms.name, rooms.floor, rooms.number) > (" in str(statement.compile())


def test_the_first_page_is_ordered_and_fetches_one_extra_row_to_know_whether_more_follow() -> None:
    statement = keyset(select(notes), ORDER, PageRequest(limit=10))

    sql = str(statement.compile(compile_kwargs={"literal_binds": True}))
    assert "WHERE" not in sql
    assert "ORDER BY notes.written_at, notes.id" in sql
    assert "LIMIT 11" in sql


def test_a_later_page_starts_after_the_cursor() -> None:
    cursor = encode_cursor([datetime(2025, 3, 1, 9, 30, tzinfo=UTC), 7])

    statement = keyset(select(notes), ORDER, PageRequest(cursor=cursor, limit=10))

    assert "WHERE (notes.written_at, notes.id) > (" in str(statement.compile())


def test_latest_first_orders_every_column_descending_and_starts_before_the_cursor() -> None:
    cursor = encode_cursor([datetime(2025, 3, 1, 9, 30, tzinfo=UTC), 7])

    statement = keyset(select(notes), ORDER, PageRequest(cursor=cursor, limit=10), descending=True)

    sql = str(statement.compile())
    assert "WHERE (notes.written_at, notes.id) < (" in sql
    assert "ORDER BY notes.written_at DESC, notes.id DESC" in sql


def test_a_short_page_is_the_last_one() -> None:
    items, next_cursor = page_of([(1,), (2,)], PageRequest(limit=2), key=lambda row: row)

    assert items == [(1,), (2,)]
    assert next_cursor is None


def test_a_full_page_drops_the_extra_row_and_points_after_its_last_item() -> None:
    items, next_cursor = page_of([(1,), (2,), (3,)], PageRequest(limit=2), key=lambda row: row)

    assert items == [(1,), (2,)]
    assert next_cursor is not None
    assert decode_cursor(next_cursor, width=1) == ["2"]
