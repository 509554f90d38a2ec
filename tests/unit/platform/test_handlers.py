"""The table of a service's event handlers: each contract version goes to one function."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest
from pydantic import ValidationError

from kairos.platform.events import Envelope, EventHandlers, EventMeta, IntegrationEvent
from kairos.platform.events.handlers import UnknownEventVersion
from kairos.platform.ids import new_id


class NoteWritten(IntegrationEvent):
    event_type: ClassVar[str] = "note.written"

    text: str


class NoteWrittenV2(IntegrationEvent):
    event_type: ClassVar[str] = "note.written"
    event_version: ClassVar[int] = 2

    text: str
    language: str


class NoteErased(IntegrationEvent):
    event_type: ClassVar[str] = "note.erased"


def envelope(event_type: str, data: dict[str, object], *, version: int = 1) -> Envelope:
    return Envelope(
        id=new_id(),
        type=event_type,
        version=version,
        occurred_at=datetime(2025, 3, 1, tzinfo=UTC),
        producer="notebook",
        subject="note-1",
        data=data,
    )


async def record_v1(event: NoteWritten, meta: EventMeta, uow: None) -> None: ...


async def record_v2(event: NoteWrittenV2, meta: EventMeta, uow: None) -> None: ...


def handlers_for_both_versions() -> EventHandlers[None]:
    handlers = EventHandlers[None]()
    handlers.on(NoteWritten)(record_v1)
    handlers.on(NoteWrittenV2)(record_v2)
    return handlers


def test_an_envelope_resolves_to_the_handler_of_its_version_with_the_parsed_event() -> None:
    handlers = handlers_for_both_versions()

    v1 = handlers.resolve(envelope("note.written", {"text": "hello"}))
    v2 = handlers.resolve(envelope("note.written", {"text": "hallo", "language": "de"}, version=2))

    assert v1 == (record_v1, NoteWritten(text="hello"))
    assert v2 == (record_v2, NoteWrittenV2(text="hallo", language="de"))


def test_an_event_type_without_handlers_is_ignored() -> None:
    handlers = handlers_for_both_versions()

    assert handlers.resolve(envelope("note.erased", {})) is None
    assert not handlers.handles("note.erased")
    assert handlers.handles("note.written")
    assert handlers.event_types == ("note.written",)


def test_a_known_type_in_an_unknown_version_is_a_permanent_failure() -> None:
    handlers = handlers_for_both_versions()

    with pytest.raises(UnknownEventVersion, match=r"note\.written v3"):
        handlers.resolve(envelope("note.written", {"text": "hello"}, version=3))


def test_data_that_breaks_the_contract_is_refused() -> None:
    handlers = handlers_for_both_versions()

    with pytest.raises(ValidationError):
        handlers.resolve(envelope("note.written", {"text": "hello", "unexpected": True}))


def test_a_contract_version_takes_only_one_handler() -> None:
    handlers = handlers_for_both_versions()

    with pytest.raises(ValueError, match=r"note\.written v1 already has a handler"):
        handlers.on(NoteWritten)(record_v1)


def test_registering_returns_the_handler_unchanged() -> None:
    handlers = EventHandlers[None]()

    assert handlers.on(NoteErased)(record_v1) is record_v1  # type: ignore[arg-type]
    assert handlers.event_types == ("note.erased",)
