"""Rate-limit rules from the settings, and the RateLimit fields of an answer
(draft-ietf-httpapi-ratelimit-headers-11)."""

from __future__ import annotations

import pytest
from limits import parse

from kairos.gateway.ratelimit import Limit, Policies, Quota, Verdict
from kairos.platform.config import DEFAULT_RATE_LIMITS, RateLimitRule


def applied(policies: Policies, method: str, path: str) -> str | None:
    rule = policies.match(method, path)
    return None if rule is None else rule.name


def test_the_first_rule_matching_method_and_path_prefix_applies() -> None:
    policies = Policies(DEFAULT_RATE_LIMITS)

    assert applied(policies, "POST", "/api/v1/identity/sign-in") == "sign-in"
    assert applied(policies, "POST", "/api/v1/identity/token") == "token"
    assert applied(policies, "GET", "/api/v1/identity/sign-in") == "reads"
    assert applied(policies, "HEAD", "/api/v1/chat/x") == "reads"
    assert policies.match("GET", "/assets/app.js") is None, "the web app's files are not limited"
    assert applied(policies, "DELETE", "/api/v1/appointments/x") == "writes"


def test_the_fhir_facade_is_limited_as_its_services_api() -> None:
    policies = Policies(
        [
            RateLimitRule(name="fhir-writes", path="/fhir/", methods=("POST",), user="5/minute"),
            RateLimitRule(name="appointments", path="/api/v1/appointments/", methods=("GET",), user="50/minute"),
            *DEFAULT_RATE_LIMITS,
        ]
    )

    assert applied(policies, "POST", "/fhir/R4/Appointment") == "fhir-writes", "a rule on its own path"
    assert applied(policies, "GET", "/fhir/R4/Appointment") == "appointments", "the owning service's rule"
    assert applied(policies, "PUT", "/fhir/R4/Appointment/1") == "writes", "the rules on every API"
    assert applied(policies, "GET", "/api/v1/identity/userinfo") == "reads"
    assert Policies(DEFAULT_RATE_LIMITS).match("GET", "/fhirish/R4") is None


def test_no_rule_no_limit() -> None:
    policies = Policies([RateLimitRule(name="uploads", path="/api/v1/documents/", methods=("post",), user="5/minute")])

    assert applied(policies, "POST", "/api/v1/documents/files") == "uploads"
    assert policies.match("GET", "/api/v1/documents/files") is None
    assert policies.match("POST", "/api/v1/chat/") is None


def test_several_limits_of_one_partition_are_named_by_their_window() -> None:
    (rule,) = Policies([RateLimitRule(name="burst", address="10/second;600/hour", user="100/minute")]).rules

    assert [limit.name for limit in rule.limits["address"]] == ["burst.address.1s", "burst.address.3600s"]
    assert [limit.name for limit in rule.limits["user"]] == ["burst.user"]
    assert "client" not in rule.limits


def test_a_malformed_limit_or_a_repeated_name_is_refused_when_the_gateway_is_built() -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Policies([RateLimitRule(name="broken", address="lots per minute")])
    with pytest.raises(ValueError, match="unique"):
        Policies([RateLimitRule(name="twice", address="1/second"), RateLimitRule(name="twice", user="1/second")])


def verdict(name: str, notation: str, *, remaining: int, reset_after: int, allowed: bool = True) -> Verdict:
    limit = Limit(rule=name.split(".", maxsplit=1)[0], partition="address", item=parse(notation), name=name)
    return Verdict(limit=limit, allowed=allowed, remaining=remaining, reset_after=reset_after)


def test_the_fields_list_every_policy_counted_and_the_legacy_fields_the_tightest() -> None:
    quota = Quota(
        [
            verdict("reads.address", "600/minute", remaining=598, reset_after=60),
            verdict("reads.user", "100/hour", remaining=7, reset_after=1200),
        ]
    )

    assert dict(quota.headers()) == {
        "RateLimit-Policy": '"reads.address";q=600;w=60, "reads.user";q=100;w=3600',
        "RateLimit": '"reads.address";r=598;t=60, "reads.user";r=7;t=1200',
        "RateLimit-Limit": "100",
        "RateLimit-Remaining": "7",
        "RateLimit-Reset": "1200",
    }


def test_retry_after_is_when_every_exceeded_limit_has_room_again() -> None:
    quota = Quota(
        [
            verdict("a.address", "5/minute", remaining=0, reset_after=12, allowed=False),
            verdict("a.user", "50/hour", remaining=0, reset_after=700, allowed=False),
            verdict("a.client", "1000/day", remaining=10, reset_after=80000),
        ]
    )

    assert [v.limit.name for v in quota.exceeded] == ["a.address", "a.user"]
    assert quota.retry_after == 700


def test_no_limit_counted_no_fields() -> None:
    assert Quota().headers() == []
