"""Which answers the gateway may keep, for whom, and for how long (RFC 9111, as a shared cache).

Only what a service marks cacheable is kept: a 200 to a GET whose ``Cache-Control`` gives a lifetime
(``s-maxage`` or ``max-age``) and says ``public`` (one entry for everyone) or ``private`` (one entry per
verified user, never served to another user nor to a request without a verified token). Nothing with
``no-store``, ``no-cache``, a ``Set-Cookie`` or a ``Vary`` is kept: the gateway does not store variants.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

UUID_IN_PATH = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Scope(StrEnum):
    SHARED = "shared"
    PRIVATE = "private"


@dataclass(frozen=True)
class Storable:
    scope: Scope
    lifetime: int  # seconds


def directives(cache_control: str) -> dict[str, str | None]:
    """``Cache-Control`` as a mapping of lower-case directive names to their argument (RFC 9111 §5.2)."""
    parsed: dict[str, str | None] = {}
    for part in cache_control.split(","):
        name, has_value, value = part.strip().partition("=")
        if name:
            parsed[name.lower()] = value.strip().strip('"') if has_value else None
    return parsed


def storable(*, status: int, headers: Mapping[str, str], has_subject: bool, max_lifetime: int) -> Storable | None:
    """How the answer may be kept, or None. ``headers`` has lower-case names."""
    if status != 200 or "set-cookie" in headers or "vary" in headers:
        return None
    found = directives(headers.get("cache-control", ""))
    if "no-store" in found or "no-cache" in found:
        return None
    if "private" in found:
        scope = Scope.PRIVATE
        lifetime = _seconds(found.get("max-age"))
        if not has_subject:
            return None
    elif "public" in found or "s-maxage" in found:
        scope = Scope.SHARED
        lifetime = _seconds(found.get("s-maxage")) or _seconds(found.get("max-age"))
    else:
        return None  # a lifetime alone does not say whether one user's answer may go to another: not kept
    if not lifetime:
        return None
    return Storable(scope, min(lifetime, max_lifetime))


def may_use_stored(cache_control: str | None) -> bool:
    """Whether the request lets a stored answer be used (RFC 9111 §5.2.1: no-cache and no-store say no)."""
    found = directives(cache_control or "")
    return "no-cache" not in found and "no-store" not in found


def entry_key(*, path: str, query: str, accept: str, accept_language: str, subject: str | None) -> str:
    """One entry per representation asked for, and per user for private answers; no identifier in clear."""
    material = "\x00".join([path, query, accept, accept_language, subject or ""])
    return hashlib.blake2b(material.encode(), digest_size=20).hexdigest()


def tags_of(path: str, declared: str | None) -> list[str]:
    """What an entry is about, for invalidation: every UUID in its path, and the service's ``Cache-Tag``."""
    tags = {match.lower() for match in UUID_IN_PATH.findall(path)}
    if declared:
        tags |= {tag.strip().lower() for tag in declared.split(",") if tag.strip()}
    return sorted(tags)


def etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches_if_none_match(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2, weak comparison: ``*`` or any listed tag equal to ``etag`` once ``W/`` is dropped."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = _opaque(etag)
    return any(_opaque(candidate) == wanted for candidate in _split_tags(if_none_match))


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def _split_tags(value: str) -> Iterable[str]:
    return (part for part in value.split(",") if part.strip())


def _seconds(value: str | None) -> int:
    if value is None or not value.isdigit():
        return 0
    return int(value)
