"""Which answers the gateway's cache keeps, for whom and how long; validators compared as RFC 9110 says."""

from __future__ import annotations

import pytest

from kairos.gateway.domain.caching import (
    Scope,
    Storable,
    entry_key,
    matches_if_none_match,
    may_use_stored,
    storable,
    tags_of,
)


def decide(cache_control: str | None, *, status: int = 200, has_subject: bool = True, **extra: str) -> Storable | None:
    headers = dict(extra)
    if cache_control is not None:
        headers["cache-control"] = cache_control
    return storable(status=status, headers=headers, has_subject=has_subject, max_lifetime=300)


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        ("public, max-age=60", Storable(Scope.SHARED, 60)),
        ("public, max-age=60, s-maxage=20", Storable(Scope.SHARED, 20)),
        ("s-maxage=30", Storable(Scope.SHARED, 30)),
        ("private, max-age=45", Storable(Scope.PRIVATE, 45)),
        ("PUBLIC, MAX-AGE=90", Storable(Scope.SHARED, 90)),
        ("public, max-age=86400", Storable(Scope.SHARED, 300)),
        ("max-age=60", None),
        ("public", None),
        ("public, max-age=0", None),
        ("public, max-age=soon", None),
        ("public, max-age=60, no-store", None),
        ('private="set-cookie", no-cache', None),
        (None, None),
    ],
)
def test_only_answers_marked_public_or_private_with_a_lifetime_are_kept(
    cache_control: str | None, expected: Storable | None
) -> None:
    assert decide(cache_control) == expected


def test_a_private_answer_to_a_request_without_a_verified_user_is_not_kept() -> None:
    assert decide("private, max-age=60", has_subject=False) is None
    assert decide("public, max-age=60", has_subject=False) == Storable(Scope.SHARED, 60)


@pytest.mark.parametrize("status", [201, 204, 206, 301, 404, 500])
def test_only_a_200_is_kept(status: int) -> None:
    assert decide("public, max-age=60", status=status) is None


@pytest.mark.parametrize("header", ["set-cookie", "vary"])
def test_answers_with_cookies_or_variants_are_not_kept(header: str) -> None:
    assert decide("public, max-age=60", **{header: "x"}) is None


def test_a_request_saying_no_cache_or_no_store_skips_stored_answers() -> None:
    assert may_use_stored(None)
    assert may_use_stored("max-age=0")
    assert not may_use_stored("no-cache")
    assert not may_use_stored("No-Store")


def test_private_entries_are_keyed_by_user_and_every_entry_by_representation() -> None:
    base = {"path": "/api/v1/x/1", "query": "", "accept": "application/json", "accept_language": "en"}
    assert entry_key(**base, subject="alice") != entry_key(**base, subject="bob")
    assert entry_key(**base, subject=None) != entry_key(**base, subject="alice")
    assert entry_key(**base, subject=None) != entry_key(**{**base, "accept": "application/fhir+json"}, subject=None)
    assert entry_key(**base, subject=None) != entry_key(**{**base, "query": "page=2"}, subject=None)
    assert "alice" not in entry_key(**base, subject="alice")


def test_tags_are_the_uuids_of_the_path_and_the_declared_cache_tags() -> None:
    path = "/api/v1/appointments/resources/3F2504E0-4F89-11D3-9A0C-0305E82C3301/slots"
    assert tags_of(path, "org-7, Schedule ") == ["3f2504e0-4f89-11d3-9a0c-0305e82c3301", "org-7", "schedule"]
    assert tags_of("/api/v1/appointments/domains", None) == []


@pytest.mark.parametrize(
    ("if_none_match", "matches"),
    [
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_uses_the_weak_comparison(if_none_match: str | None, matches: bool) -> None:
    assert matches_if_none_match(if_none_match, '"abc"') is matches
