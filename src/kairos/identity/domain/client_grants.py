"""What a person allowed a third-party application to do, and when the consent page must be shown.

A first-party client (a Kairos application) never asks. A third-party client asks once for the scopes it wants
(RFC 6749 §4.1.1, OIDC Core §3.1.2.4); later requests for the same or fewer scopes go through without a page,
unless the client sends ``prompt=consent``. With ``prompt=none`` no page may be shown: a request that would need
one ends in ``consent_required`` (OIDC Core §3.1.2.6). A grant is revoked by the person, never rewritten: a wider
request adds to the current grant's scopes.

Scopes are also described here in plain terms (``ScopeMeaning``) for the consent page to put into words:
OpenID's standard scopes and SMART on FHIR scopes (``patient/Appointment.read``, ``user/*.rs``; SMART App Launch
1.0 and 2.0 spellings).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class NoGrantToRevoke(Exception):
    """The person has no current grant for this application."""


@dataclass(frozen=True)
class ClientGrant:
    user_id: UUID
    client_id: str
    scopes: frozenset[str]
    granted_at: datetime
    revoked_at: datetime | None = None

    @property
    def is_current(self) -> bool:
        return self.revoked_at is None

    def covers(self, requested: Iterable[str]) -> bool:
        return self.is_current and set(requested) <= self.scopes


class ConsentDecision(StrEnum):
    GRANTED = "granted"  # a current grant covers the request (or the client is first-party): issue the code
    ASK = "ask"  # show the consent page
    REQUIRED = "required"  # a page is needed but ``prompt=none`` forbids one: answer ``consent_required``


def decide_consent(
    *, is_first_party: bool, grant: ClientGrant | None, requested: Iterable[str], prompts: Iterable[str]
) -> ConsentDecision:
    """Whether an authorization request may go on without asking the person."""
    if is_first_party:
        return ConsentDecision.GRANTED
    asked = set(prompts)
    if "consent" not in asked and grant is not None and grant.covers(requested):
        return ConsentDecision.GRANTED
    return ConsentDecision.REQUIRED if "none" in asked else ConsentDecision.ASK


def widened_scopes(grant: ClientGrant | None, allowed: Iterable[str]) -> frozenset[str]:
    """The scopes of the grant after the person allowed ``allowed``: what they allowed before stays allowed."""
    before = grant.scopes if grant is not None and grant.is_current else frozenset()
    return before | frozenset(allowed)


# --- scopes in plain terms --------------------------------------------------------------------------------------


class ScopeKind(StrEnum):
    OPENID = "openid"
    PROFILE = "profile"
    EMAIL = "email"
    OFFLINE_ACCESS = "offline_access"
    SMART = "smart"
    OTHER = "other"


class Access(StrEnum):
    READ = "read"
    WRITE = "write"
    READ_WRITE = "read_write"


@dataclass(frozen=True)
class ScopeMeaning:
    scope: str
    kind: ScopeKind
    context: str | None = None  # SMART: patient (the person's own data), user (what the person may see)
    resource_type: str | None = None  # SMART: a FHIR resource type, or "*"
    access: Access | None = None


_SMART = re.compile(r"(?P<context>patient|user)/(?P<type>[A-Z][A-Za-z]*|\*)\.(?P<permissions>[a-z*]+)")
_V2_PERMISSIONS = re.compile(r"c?r?u?d?s?")
_STANDARD = {kind.value: kind for kind in ScopeKind if kind not in {ScopeKind.SMART, ScopeKind.OTHER}}


def scope_meaning(scope: str) -> ScopeMeaning:
    """What a scope lets the application do. ``system/`` scopes are a backend's own and are not asked of people;
    a SMART 2.0 scope with a query restriction is not understood here either: both are shown as they are."""
    standard = _STANDARD.get(scope)
    if standard is not None:
        return ScopeMeaning(scope, standard)
    matched = _SMART.fullmatch(scope)
    access = _access(matched["permissions"]) if matched else None
    if matched is None or access is None:
        return ScopeMeaning(scope, ScopeKind.OTHER)
    return ScopeMeaning(scope, ScopeKind.SMART, matched["context"], matched["type"], access)


def _access(permissions: str) -> Access | None:
    if permissions == "read":
        return Access.READ
    if permissions == "write":
        return Access.WRITE
    if permissions == "*":
        return Access.READ_WRITE
    if not permissions or not _V2_PERMISSIONS.fullmatch(permissions):
        return None
    reads = bool(set(permissions) & {"r", "s"})
    writes = bool(set(permissions) & {"c", "u", "d"})
    return Access.READ_WRITE if reads and writes else Access.READ if reads else Access.WRITE
