"""SMART on FHIR scopes: in which contexts a token's scopes let it do one FHIR interaction on one resource type.

SMART App Launch 1.0 scopes name an access mode (``patient/Appointment.read``, ``user/*.write``,
``system/*.*``); 2.0 scopes name the interactions by letter, in the order c r u d s
(``patient/Appointment.rs``, ``system/*.cruds``); both are accepted (SMART App Launch 2.0 §3 "Scopes").
A 2.0 scope with a query restriction (``patient/Observation.rs?category=…``) grants nothing here: the
facade cannot enforce the restriction, and a scope must never grant more than it says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Context(StrEnum):
    PATIENT = "patient"  # only the patient in context's data: for Kairos, the token's own subject
    USER = "user"  # whatever the signed-in user may see and do by the service's own rules
    SYSTEM = "system"  # a backend client acting for itself (client credentials): all the scope names


class Interaction(StrEnum):
    CREATE = "c"
    READ = "r"
    UPDATE = "u"
    DELETE = "d"
    SEARCH = "s"


ALL_INTERACTIONS = frozenset(Interaction)
V1_MODES: dict[str, frozenset[Interaction]] = {
    "read": frozenset({Interaction.READ, Interaction.SEARCH}),
    "write": frozenset({Interaction.CREATE, Interaction.UPDATE, Interaction.DELETE}),
    "*": ALL_INTERACTIONS,
}
_SCOPE = re.compile(r"(?P<context>patient|user|system)/(?P<type>[A-Z][A-Za-z]*|\*)\.(?P<permissions>[^?]+)")
_V2_PERMISSIONS = re.compile(r"c?r?u?d?s?")


@dataclass(frozen=True)
class SmartScope:
    context: Context
    resource_type: str  # a FHIR resource type, or "*" for every type
    interactions: frozenset[Interaction]

    def allows(self, resource_type: str, interaction: Interaction) -> bool:
        return self.resource_type in {"*", resource_type} and interaction in self.interactions


def parse_scope(text: str) -> SmartScope | None:
    """The SMART scope ``text`` spells, or None for any other scope (``openid``, ``launch``, …)."""
    matched = _SCOPE.fullmatch(text)
    if matched is None:
        return None
    permissions = matched["permissions"]
    interactions = V1_MODES.get(permissions)
    if interactions is None and permissions and _V2_PERMISSIONS.fullmatch(permissions):
        interactions = frozenset(Interaction(letter) for letter in permissions)
    if interactions is None:
        return None
    return SmartScope(Context(matched["context"]), matched["type"], interactions)


def granted_contexts(
    scopes: Iterable[str], *, resource_type: str, interaction: Interaction, acts_for_itself: bool
) -> frozenset[Context]:
    """The contexts in which ``scopes`` allow ``interaction`` on ``resource_type``.

    ``system/`` scopes count only for a client acting for itself (a client-credentials token, no user):
    a user's token never widens its reach by carrying one. ``patient/`` and ``user/`` scopes need a user.
    """
    usable = {Context.SYSTEM} if acts_for_itself else {Context.PATIENT, Context.USER}
    return frozenset(
        scope.context
        for scope in filter(None, map(parse_scope, scopes))
        if scope.context in usable and scope.allows(resource_type, interaction)
    )


def needed_scope(scopes: Iterable[str], *, resource_type: str, interaction: Interaction, acts_for_itself: bool) -> str:
    """A SMART 1.0 scope that would allow the interaction, in the token's own context, for an
    ``insufficient_scope`` answer (RFC 6750 §3.1)."""
    present = {scope.context for scope in filter(None, map(parse_scope, scopes))}
    context = Context.SYSTEM if acts_for_itself else Context.PATIENT if present == {Context.PATIENT} else Context.USER
    mode = "read" if interaction in V1_MODES["read"] else "write"
    return f"{context}/{resource_type}.{mode}"
