"""Composite views declared as data: read in rounds, templates filled from earlier parts, mistakes refused."""

from __future__ import annotations

import pytest

from kairos.gateway.domain.aggregation import (
    APPOINTMENT_VIEW,
    Composite,
    MissingValue,
    Part,
    Pick,
    fill,
    picked,
)


def test_parts_are_read_in_rounds_each_after_the_parts_it_needs() -> None:
    rounds = [[part.name for part in stage] for stage in APPOINTMENT_VIEW.stages()]

    assert rounds == [["appointment", "conversation", "documents"], ["professional", "schedule"]]


def test_a_template_is_filled_with_the_id_and_fields_of_parts_read_before() -> None:
    parts = {"appointment": {"resource_id": "r-1", "organisation_id": "o-2"}}

    assert fill("/x/{id}/{appointment.resource_id}", view_id="a-9", parts=parts) == "/x/a-9/r-1"


@pytest.mark.parametrize(
    "parts",
    [{}, {"appointment": {"status": "booked"}}, {"appointment": {"resource_id": None}}, {"appointment": "text"}],
)
def test_a_template_naming_a_missing_part_or_field_cannot_be_filled(parts: dict[str, object]) -> None:
    with pytest.raises(MissingValue):
        fill("/x/{appointment.resource_id}", view_id="a-9", parts=parts)


def test_pick_chooses_the_item_with_the_wanted_value() -> None:
    answer = {"items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}]}

    assert picked(answer, Pick(field="id", equals="{x.id}"), "b") == {"id": "b", "n": 2}
    with pytest.raises(MissingValue):
        picked(answer, Pick(field="id", equals="{x.id}"), "c")
    with pytest.raises(MissingValue):
        picked([1, 2], Pick(field="id", equals="{x.id}"), "a")


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ((Part("a", "/a"), Part("a", "/b")), "unique"),
        ((Part("a", "/a/{b.id}"),), "name no part"),
        ((Part("a", "/a", required=True), Part("b", "/b", required=True)), "at most one"),
    ],
)
def test_a_badly_declared_view_is_refused_when_declared(parts: tuple[Part, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Composite(name="broken", parts=parts)


def test_parts_that_need_each_other_are_refused() -> None:
    view = Composite(name="loop", parts=(Part("a", "/a/{b.id}"), Part("b", "/b/{a.id}")))

    with pytest.raises(ValueError, match="need each other"):
        view.stages()
