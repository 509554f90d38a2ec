"""Throttling password guessing: waits that grow to an hour, a hard stop at 100 consecutive failures
(NIST SP 800-63B-4 §3.2.2), known devices that keep the owner in, and a budget per network address."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kairos.identity.domain.throttling import (
    ALLOWED,
    AddressBudget,
    FailureStreak,
    InFlight,
    RefusalReason,
    Refused,
    SignInCounters,
    ThrottlePolicy,
    address_key,
    check_codes,
    source_address,
)

POLICY = ThrottlePolicy()
NOON = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def fresh(*, known_device: bool = False) -> SignInCounters:
    return SignInCounters(
        account=FailureStreak(), address=AddressBudget(), device=FailureStreak() if known_device else None
    )


def fail(counters: SignInCounters, times: int, *, at: datetime = NOON) -> SignInCounters:
    for _ in range(times):
        counters = counters.after_failure(at=at, policy=POLICY)
    return counters


def with_failures(failures: int, *, at: datetime = NOON) -> SignInCounters:
    """An account with a streak of ``failures``, the last at ``at``, and an address with nothing owed."""
    return SignInCounters(account=FailureStreak(failures, at), address=AddressBudget())


# --- the account streak -------------------------------------------------------------------------------


def test_the_first_five_failures_cost_no_waiting() -> None:
    counters = fresh()
    for _ in range(5):
        assert counters.check(at=NOON, policy=POLICY) is ALLOWED
        counters = counters.after_failure(at=NOON, policy=POLICY)

    assert counters.check(at=NOON, policy=POLICY) is ALLOWED


def test_after_the_sixth_failure_the_next_attempt_waits_thirty_seconds() -> None:
    counters = fail(fresh(), 6)

    assert counters.check(at=NOON, policy=POLICY) == Refused(
        RefusalReason.TOO_MANY_FAILURES_ON_ACCOUNT, until=NOON + timedelta(seconds=30)
    )
    assert counters.check(at=NOON + timedelta(seconds=30), policy=POLICY) is ALLOWED


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (5, timedelta(0)),
        (6, timedelta(seconds=30)),
        (7, timedelta(minutes=1)),
        (8, timedelta(minutes=2)),
        (11, timedelta(minutes=16)),
        (12, timedelta(minutes=32)),
        (13, timedelta(hours=1)),
        (99, timedelta(hours=1)),
        (10_000, timedelta(hours=1)),
    ],
)
def test_the_wait_doubles_up_to_an_hour(failures: int, wait: timedelta) -> None:
    assert POLICY.wait_after(failures) == wait


def test_a_correct_password_ends_the_streak() -> None:
    counters = with_failures(40).after_success()

    assert counters.account == FailureStreak()
    assert counters.check(at=NOON, policy=POLICY) is ALLOWED


# --- the hard limit -----------------------------------------------------------------------------------


def test_after_100_consecutive_failures_the_password_is_disabled_until_it_is_replaced() -> None:
    counters = with_failures(100)

    for later in (timedelta(0), timedelta(days=1), timedelta(days=3650)):
        assert counters.check(at=NOON + later, policy=POLICY) == Refused(RefusalReason.PASSWORD_DISABLED, until=None)
    assert replace(counters, account=FailureStreak()).check(at=NOON, policy=POLICY) is ALLOWED  # after a reset


def test_the_hundredth_attempt_is_still_allowed() -> None:
    assert with_failures(99).check(at=NOON + timedelta(hours=1), policy=POLICY) is ALLOWED


def test_a_known_device_is_stopped_by_the_hard_limit_too() -> None:
    counters = replace(with_failures(100), device=FailureStreak())

    assert counters.check(at=NOON, policy=POLICY) == Refused(RefusalReason.PASSWORD_DISABLED, until=None)


def test_a_deployment_may_choose_a_lower_limit_but_not_a_higher_one() -> None:
    assert with_failures(10).check(at=NOON + timedelta(days=1), policy=ThrottlePolicy(failure_limit=10)) == Refused(
        RefusalReason.PASSWORD_DISABLED, until=None
    )
    with pytest.raises(ValueError, match="100"):
        ThrottlePolicy(failure_limit=101)


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"free_failures": 100}, "free failures"),
        ({"first_wait": timedelta(0)}, "waits"),
        ({"first_wait": timedelta(hours=2)}, "waits"),
        ({"address_burst": 0}, "address"),
        ({"address_refill": timedelta(0)}, "address"),
    ],
)
def test_a_nonsensical_policy_cannot_be_configured(settings: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        ThrottlePolicy(**settings)  # type: ignore[arg-type]


def test_an_attacker_guessing_as_fast_as_allowed_needs_more_than_three_and_a_half_days_to_reach_the_limit() -> None:
    counters, now = fresh(), NOON
    while (decision := counters.check(at=now, policy=POLICY)) != Refused(RefusalReason.PASSWORD_DISABLED, until=None):
        if isinstance(decision, Refused):
            assert decision.until is not None
            now = decision.until
            continue
        counters = counters.after_failure(at=now, policy=POLICY)
        counters = replace(counters, address=AddressBudget())  # a new address for every guess

    assert counters.account.failures == 100
    assert now - NOON > timedelta(days=3, hours=12)


# --- known devices ------------------------------------------------------------------------------------


def test_the_owner_on_a_known_device_is_not_held_back_by_an_attacker_s_failures() -> None:
    attacked = with_failures(60)
    assert isinstance(attacked.check(at=NOON, policy=POLICY), Refused)

    owner = replace(attacked, device=FailureStreak())
    assert owner.check(at=NOON, policy=POLICY) is ALLOWED
    assert owner.after_success().account == FailureStreak()


def test_a_known_device_has_its_own_waits() -> None:
    counters = fail(fresh(known_device=True), 6)

    assert counters.check(at=NOON, policy=POLICY) == Refused(
        RefusalReason.TOO_MANY_FAILURES_ON_DEVICE, until=NOON + timedelta(seconds=30)
    )
    assert counters.account.failures == 6  # which still count towards the hard limit


def test_a_known_device_ignores_the_address_budget() -> None:
    counters = replace(fail(fresh(), 20).after_success(), device=FailureStreak())

    assert counters.check(at=NOON, policy=POLICY) is ALLOWED
    assert counters.after_failure(at=NOON, policy=POLICY).address == counters.address


# --- the address budget -------------------------------------------------------------------------------


def test_an_address_may_fail_twenty_times_at_once_then_once_a_minute() -> None:
    counters = fail(fresh(), 20).after_success()  # other accounts' failures, say: the streak is not the point

    assert counters.check(at=NOON, policy=POLICY) == Refused(
        RefusalReason.TOO_MANY_FAILURES_FROM_ADDRESS, until=NOON + timedelta(minutes=1)
    )
    counters = counters.after_failure(at=NOON + timedelta(minutes=1), policy=POLICY).after_success()
    assert counters.check(at=NOON + timedelta(minutes=1, seconds=59), policy=POLICY) == Refused(
        RefusalReason.TOO_MANY_FAILURES_FROM_ADDRESS, until=NOON + timedelta(minutes=2)
    )


def test_a_success_does_not_pay_off_the_address_s_debt() -> None:
    counters = fail(fresh(), 20)

    assert counters.after_success().address == counters.address


def test_the_latest_of_several_waits_is_the_one_reported() -> None:
    counters = SignInCounters(
        account=FailureStreak(13, NOON), address=AddressBudget(drained_at=NOON + timedelta(minutes=30))
    )

    assert counters.check(at=NOON, policy=POLICY) == Refused(
        RefusalReason.TOO_MANY_FAILURES_ON_ACCOUNT, until=NOON + timedelta(hours=1)
    )


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
    ],
)
def test_addresses_are_budgeted_by_network(address: str, key: str) -> None:
    assert address_key(address) == key


def test_an_address_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="does not appear to be"):
        address_key("not-an-address")


# --- times --------------------------------------------------------------------------------------------


def test_times_must_be_timezone_aware() -> None:
    naive = datetime(2025, 3, 1, 12, 0)
    with pytest.raises(ValueError, match="aware"):
        fresh().check(at=naive, policy=POLICY)
    with pytest.raises(ValueError, match="aware"):
        fresh().after_failure(at=naive, policy=POLICY)


def test_a_failure_reported_late_does_not_shorten_the_wait() -> None:
    streak = FailureStreak(7, NOON).after_failure(at=NOON - timedelta(minutes=5))

    assert streak.last_failed_at == NOON


# --- properties ---------------------------------------------------------------------------------------

attempts = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3 * 24 * 3600),  # seconds since the previous attempt
        st.sampled_from(["unknown device", "known device", "new address"]),
        st.sampled_from(["wrong"] * 8 + ["right", "password reset"]),
    ),
    max_size=400,
)


@settings(max_examples=200, deadline=None)
@given(attempts)
def test_no_sequence_of_attempts_gets_more_than_100_consecutive_failures_through(
    sequence: list[tuple[int, str, str]],
) -> None:
    account, device, address, now = FailureStreak(), FailureStreak(), AddressBudget(), NOON
    failures_let_through = 0
    for seconds, source, outcome in sequence:
        now += timedelta(seconds=seconds)
        if outcome == "password reset":
            account, failures_let_through = FailureStreak(), 0
            continue
        if source == "new address":
            address = AddressBudget()
        counters = SignInCounters(account=account, address=address, device=device if source == "known device" else None)
        if isinstance(counters.check(at=now, policy=POLICY), Refused):
            continue
        if outcome == "right":
            counters, failures_let_through = counters.after_success(), 0
        else:
            counters, failures_let_through = counters.after_failure(at=now, policy=POLICY), failures_let_through + 1
        account, address = counters.account, counters.address
        device = counters.device or device

        assert failures_let_through <= 100
        assert account.failures == failures_let_through


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=600), max_size=150))
def test_an_address_gets_at_most_its_burst_plus_one_failure_per_refill_through_in_any_span(
    gaps: list[int],
) -> None:
    budget, now, let_through = AddressBudget(), NOON, []
    for gap in gaps:
        now += timedelta(seconds=gap)
        counters = SignInCounters(account=FailureStreak(), address=budget)
        if counters.check(at=now, policy=POLICY) is ALLOWED:
            budget = counters.after_failure(at=now, policy=POLICY).address
            let_through.append(now)

    for first, start in enumerate(let_through):
        for last in range(first, len(let_through)):
            span = let_through[last] - start
            assert last - first + 1 <= POLICY.address_burst + span / POLICY.address_refill


@given(
    st.integers(min_value=0, max_value=150),
    st.integers(min_value=-7200, max_value=7200),
    st.integers(min_value=-7200, max_value=7200),
    st.booleans(),
)
def test_a_refusal_lifts_at_the_time_it_names(failures: int, since_failure: int, debt: int, known: bool) -> None:
    counters = SignInCounters(
        account=FailureStreak(failures, NOON),
        address=AddressBudget(drained_at=NOON + timedelta(seconds=debt)),
        device=FailureStreak(failures // 2, NOON) if known else None,
    )
    decision = counters.check(at=NOON + timedelta(seconds=since_failure), policy=POLICY)

    if isinstance(decision, Refused) and decision.until is not None:
        assert decision.until > NOON + timedelta(seconds=since_failure)
        assert counters.check(at=decision.until, policy=POLICY) is ALLOWED


# --- second-factor codes ----------------------------------------------------------------------------------


def test_wrong_codes_follow_the_account_streaks_waits_and_limit() -> None:
    assert check_codes(FailureStreak(), at=NOON, policy=POLICY) is ALLOWED
    assert check_codes(FailureStreak(5, NOON), at=NOON, policy=POLICY) is ALLOWED
    assert check_codes(FailureStreak(6, NOON), at=NOON, policy=POLICY) == Refused(
        RefusalReason.TOO_MANY_WRONG_CODES, until=NOON + timedelta(seconds=30)
    )
    assert check_codes(FailureStreak(6, NOON), at=NOON + timedelta(seconds=30), policy=POLICY) is ALLOWED
    assert check_codes(FailureStreak(100, NOON), at=NOON + timedelta(days=365), policy=POLICY) == Refused(
        RefusalReason.CODES_DISABLED, until=None
    )


# --- what attempts are counted under -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        ("10.0.0.5", [], False, "10.0.0.5"),
        ("10.0.0.5", ["203.0.113.9"], False, "10.0.0.5"),  # not behind a trusted gateway: the header is ignored
        ("10.0.0.5", ["203.0.113.9"], True, "203.0.113.9"),
        # The gateway appends what it saw after whatever the client sent: only the last entry counts.
        ("10.0.0.5", ["1.2.3.4, 203.0.113.9"], True, "203.0.113.9"),
        ("10.0.0.5", ["1.2.3.4", "203.0.113.9"], True, "203.0.113.9"),
        ("10.0.0.5", ["2001:db8::1"], True, "2001:db8::1"),
        ("10.0.0.5", ["not an address"], True, "10.0.0.5"),
        ("10.0.0.5", [], True, "10.0.0.5"),
        (None, [], False, "0.0.0.0"),
    ],
)
def test_the_source_address(peer: str | None, forwarded_for: list[str], trusted: bool, expected: str) -> None:
    assert source_address(peer=peer, forwarded_for=forwarded_for, trust_forwarded_for=trusted) == expected


# --- attempts in flight (verified with no lock held) -------------------------------------------------------


def test_attempts_in_flight_are_judged_as_if_they_had_failed() -> None:
    policy = ThrottlePolicy(free_failures=5)
    counters = with_failures(3)

    assert counters.check(at=NOON, policy=policy, in_flight=InFlight(account=2, address=2)) is ALLOWED
    assert counters.check(at=NOON, policy=policy, in_flight=InFlight(account=3, address=3)) == Refused(
        RefusalReason.TOO_MANY_FAILURES_ON_ACCOUNT, until=NOON + policy.first_wait
    )


def test_attempts_in_flight_that_would_reach_the_hard_limit_wait_without_disabling_the_password() -> None:
    policy = ThrottlePolicy(free_failures=99, failure_limit=100)
    counters = SignInCounters(account=FailureStreak(98, NOON), address=AddressBudget(), device=FailureStreak())

    assert counters.check(at=NOON, policy=policy, in_flight=InFlight(account=1)) is ALLOWED
    assert counters.check(at=NOON, policy=policy, in_flight=InFlight(account=2)) == Refused(
        RefusalReason.TOO_MANY_FAILURES_ON_ACCOUNT, until=NOON + policy.first_wait
    )


def test_an_address_with_attempts_in_flight_has_that_much_less_budget() -> None:
    policy = ThrottlePolicy(address_burst=5)
    counters = SignInCounters(account=FailureStreak(), address=AddressBudget()).after_failure(at=NOON, policy=policy)

    assert counters.check(at=NOON, policy=policy, in_flight=InFlight(account=0, address=3)) is ALLOWED
    refused = counters.check(at=NOON, policy=policy, in_flight=InFlight(account=0, address=4))
    assert isinstance(refused, Refused)
    assert refused.reason is RefusalReason.TOO_MANY_FAILURES_FROM_ADDRESS


def test_a_known_devices_attempts_in_flight_count_on_the_device_not_the_address() -> None:
    policy = ThrottlePolicy(free_failures=2, address_burst=1)
    counters = fresh(known_device=True)

    assert counters.check(at=NOON, policy=policy, in_flight=InFlight(account=2, address=0, device=2)) is ALLOWED
    refused = counters.check(at=NOON, policy=policy, in_flight=InFlight(account=3, address=0, device=3))
    assert isinstance(refused, Refused)
    assert refused.reason is RefusalReason.TOO_MANY_FAILURES_ON_DEVICE


SMALL = ThrottlePolicy(
    free_failures=8,
    first_wait=timedelta(seconds=1),
    longest_wait=timedelta(seconds=4),
    failure_limit=10,
    address_burst=4,
    address_refill=timedelta(seconds=10),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["start", "start", "finish"]),
            st.integers(min_value=0, max_value=20),  # seconds since the previous event
            st.integers(min_value=0, max_value=50),  # which attempt in flight finishes
            st.sampled_from(["wrong"] * 6 + ["right"]),
        ),
        max_size=300,
    )
)
def test_concurrent_attempts_never_get_more_failures_through_than_one_after_another(
    events: list[tuple[str, int, int, str]],
) -> None:
    """However attempts overlap, and in whatever order they finish, the account never counts more than the limit
    of consecutive failures, and one network never more than its burst plus one failure per refill."""
    account, address, now = FailureStreak(), AddressBudget(), NOON
    in_flight: list[datetime] = []
    address_failures: list[datetime] = []
    for kind, seconds, which, outcome in events:
        now += timedelta(seconds=seconds)
        counters = SignInCounters(account=account, address=address)
        if kind == "start":
            waiting = InFlight(account=len(in_flight), address=len(in_flight))
            if counters.check(at=now, policy=SMALL, in_flight=waiting) is ALLOWED:
                in_flight.append(now)
            continue
        if not in_flight:
            continue
        started = in_flight.pop(which % len(in_flight))
        if outcome == "right":
            account = counters.after_success().account
        else:
            after = counters.after_failure(at=started, policy=SMALL)
            account, address = after.account, after.address
            address_failures.append(started)

        assert account.failures <= SMALL.failure_limit
    ordered = sorted(address_failures)
    for first, start in enumerate(ordered):
        within = [moment for moment in ordered[first:] if moment - start <= timedelta(seconds=30)]
        assert len(within) <= SMALL.address_burst + 3  # 30 s is three refills
