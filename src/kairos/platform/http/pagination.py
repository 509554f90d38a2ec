"""Cursor (keyset) pagination: stable under inserts, constant cost per page, opaque to clients."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, ColumnElement, Select, SmallInteger, tuple_

from kairos.platform.http.problems import ProblemError

ItemT = TypeVar("ItemT")

MAX_PAGE_SIZE = 200


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(default=None, description="pass as `cursor` to get the next page; null at the end")


class PageRequest(BaseModel):
    cursor: str | None = None
    limit: int = 50


def page_request(
    cursor: Annotated[str | None, Query(description="from the previous page's `next_cursor`")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> PageRequest:
    return PageRequest(cursor=cursor, limit=limit)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([str(value) for value in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, width: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as error:
        raise ProblemError(400, "invalid-cursor", "Bad Request", "The cursor is not valid") from error
    if not isinstance(values, list) or len(values) != width or not all(isinstance(v, str) for v in values):
        raise ProblemError(400, "invalid-cursor", "Bad Request", "The cursor is not valid")
    return values


def keyset(
    statement: Select[Any], order_by: Sequence[ColumnElement[Any]], page: PageRequest, *, descending: bool = False
) -> Select[Any]:
    """Order by ``order_by`` (unique together; ascending, or all descending) and start after the cursor; fetch
    one extra row. A cursor belongs to the order it was made in."""
    if page.cursor is not None:
        after = decode_cursor(page.cursor, width=len(order_by))
        try:
            typed = [_parse(column, value) for column, value in zip(order_by, after, strict=True)]
        except ValueError as error:
            raise ProblemError(400, "invalid-cursor", "Bad Request", "The cursor is not valid") from error
        after_cursor = tuple_(*order_by) < tuple_(*typed) if descending else tuple_(*order_by) > tuple_(*typed)
        statement = statement.where(after_cursor)
    ordered = [column.desc() for column in order_by] if descending else order_by
    return statement.order_by(*ordered).limit(page.limit + 1)


def page_of(rows: Sequence[Any], page: PageRequest, *, key: Any) -> tuple[list[Any], str | None]:
    """Trim the extra row and make the next cursor from the last item's sort key (``key(row)``)."""
    if len(rows) <= page.limit:
        return list(rows), None
    kept = list(rows[: page.limit])
    return kept, encode_cursor(key(kept[-1]))


def _parse(column: ColumnElement[Any], value: str) -> Any:
    kind = column.type.python_type
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is int:
        # A forged cursor must not reach the database with a number its column cannot hold.
        bits = 64 if isinstance(column.type, BigInteger) else 16 if isinstance(column.type, SmallInteger) else 32
        number = int(value)
        if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
            raise ValueError(f"{value} is out of range")
        return number
    if kind is UUID:
        return UUID(value)
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise ValueError("NUL in a text value")
    return value
