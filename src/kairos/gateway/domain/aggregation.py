"""Composite views declared as data: the parts of one answer, each read from a service's API by a path
template filled with the request's id and with fields of parts read before it.

``{id}`` is the view's id; ``{appointment.resource_id}`` is a field of the part named ``appointment``. A part
whose template names a part that could not be read cannot be read either, and says so. One part may be
``required``: without it there is no view, and its failure is the view's. ``pick`` chooses one item of a
list answer (``{"items": […]}``) by a field's value, for services that offer a directory but no item path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:\.([a-z_]+))?\}")


@dataclass(frozen=True)
class Pick:
    field: str  # compared in each item of the answer's "items"
    equals: str  # a template, like the path's


@dataclass(frozen=True)
class Part:
    name: str
    path: str
    required: bool = False
    pick: Pick | None = None

    def needs(self) -> set[str]:
        """The names of the parts this one's templates read from."""
        templates = [self.path] + ([self.pick.equals] if self.pick else [])
        return {match.group(1) for template in templates for match in PLACEHOLDER.finditer(template)} - {"id"}


@dataclass(frozen=True)
class Composite:
    name: str
    parts: tuple[Part, ...]

    def __post_init__(self) -> None:
        names = [part.name for part in self.parts]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: part names must be unique")
        unknown = {need for part in self.parts for need in part.needs()} - set(names)
        if unknown:
            raise ValueError(f"{self.name}: templates name no part {sorted(unknown)}")
        if sum(part.required for part in self.parts) > 1:
            raise ValueError(f"{self.name}: at most one part is required")

    def stages(self) -> list[list[Part]]:
        """Parts in rounds: each round needs only parts of earlier rounds, and is read concurrently."""
        done: set[str] = set()
        remaining = list(self.parts)
        rounds: list[list[Part]] = []
        while remaining:
            ready = [part for part in remaining if part.needs() <= done]
            if not ready:
                raise ValueError(f"{self.name}: parts need each other {[part.name for part in remaining]}")
            rounds.append(ready)
            done |= {part.name for part in ready}
            remaining = [part for part in remaining if part not in ready]
        return rounds


class MissingValue(Exception):
    """A template names a part that was not read, or a field it does not have."""


def fill(template: str, *, view_id: str, parts: Mapping[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        source, field = match.group(1), match.group(2)
        if source == "id" and field is None:
            return view_id
        found = parts.get(source)
        if not isinstance(found, Mapping) or field is None or found.get(field) in (None, ""):
            raise MissingValue(f"{{{source}.{field}}}")
        return str(found[field])

    return PLACEHOLDER.sub(value, template)


def picked(answer: Any, pick: Pick, wanted: str) -> Any:
    items = answer.get("items") if isinstance(answer, Mapping) else None
    if not isinstance(items, list):
        raise MissingValue("no items in the answer")
    for item in items:
        if isinstance(item, Mapping) and str(item.get(pick.field)) == wanted:
            return item
    raise MissingValue(f"no item with {pick.field} = {wanted}")


APPOINTMENT_VIEW = Composite(
    name="appointment",
    parts=(
        Part("appointment", "/api/v1/appointments/appointments/{id}", required=True),
        # The profile as the directory of verified professionals publishes it (identity's own profile is for its
        # verifiers): name, specialty, languages, and whether the professional is verified now.
        Part("professional", "/api/v1/appointments/resources/{appointment.resource_id}/professional"),
        Part("schedule", "/api/v1/appointments/resources/{appointment.resource_id}/schedule"),
        Part("conversation", "/api/v1/chat/appointments/{id}/conversation"),
        Part("documents", "/api/v1/documents/appointments/{id}/documents"),
    ),
)
