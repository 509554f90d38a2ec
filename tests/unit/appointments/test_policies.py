"""A domain's cancellation and reschedule policy, its auto-approval rules, and who on the waitlist is first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kairos.appointments.domain.configuration import (
    AppointmentTypeSettings,
    AutoApprovalRule,
    CancellationPolicy,
    CutoffPassed,
    DomainConfiguration,
    InvalidConfiguration,
    RescheduleLimitReached,
    Terminology,
)
from kairos.appointments.domain.waitlist import (
    InvalidWaitlistEntry,
    WaitlistEntry,
    WaitlistStatus,
    next_in_line,
)
from kairos.appointments.repository import decode_configuration, encode_configuration

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
RESOURCE = uuid.uuid4()


def domain(**changes: object) -> DomainConfiguration:
    return DomainConfiguration(
        name="medical",
        label="Medical",
        terminology=Terminology(client="patient", professional="doctor"),
        appointment_types=(
            AppointmentTypeSettings(code="consultation", label="Consultation", duration=timedelta(minutes=20)),
            AppointmentTypeSettings(code="follow-up", label="Follow-up", duration=timedelta(minutes=15)),
        ),
        **changes,  # type: ignore[arg-type]
    )


def test_patients_change_until_the_cutoff_and_not_after() -> None:
    policy = CancellationPolicy(cutoff=24 * HOUR)
    policy.check_patient_change(starts_at=NOW + 24 * HOUR, now=NOW)
    with pytest.raises(CutoffPassed, match="24 hours"):
        policy.check_patient_change(starts_at=NOW + 24 * HOUR - timedelta(seconds=1), now=NOW)


def test_reschedules_are_limited_unless_the_policy_says_none() -> None:
    CancellationPolicy(max_reschedules=2).check_reschedule(reschedules_so_far=1)
    with pytest.raises(RescheduleLimitReached):
        CancellationPolicy(max_reschedules=2).check_reschedule(reschedules_so_far=2)
    with pytest.raises(RescheduleLimitReached):
        CancellationPolicy(max_reschedules=0).check_reschedule(reschedules_so_far=0)
    CancellationPolicy(max_reschedules=None).check_reschedule(reschedules_so_far=99)


def test_a_negative_cutoff_or_limit_is_refused() -> None:
    with pytest.raises(InvalidConfiguration):
        CancellationPolicy(cutoff=-HOUR)
    with pytest.raises(InvalidConfiguration):
        CancellationPolicy(max_reschedules=-1)


FOLLOW_UPS_OF_KNOWN_PATIENTS = AutoApprovalRule(
    name="known-follow-ups",
    appointment_types=("follow-up",),
    minimum_notice=2 * HOUR,
    maximum_notice=14 * 24 * HOUR,
    answers={"first_visit": False},
    returning_patients_only=True,
)


@pytest.mark.parametrize(
    ("changes", "matches"),
    [
        ({}, True),
        ({"appointment_type": "consultation"}, False),
        ({"starts_at": NOW + HOUR}, False),  # too little notice
        ({"starts_at": NOW + 15 * 24 * HOUR}, False),  # too far ahead
        ({"answers": {"first_visit": True}}, False),
        ({"answers": {}}, False),  # an answer the rule needs is missing
        ({"is_returning_patient": False}, False),
    ],
)
def test_a_rule_approves_only_requests_that_meet_every_condition(changes: dict[str, object], matches: bool) -> None:
    request: dict[str, object] = {
        "appointment_type": "follow-up",
        "starts_at": NOW + 3 * 24 * HOUR,
        "now": NOW,
        "answers": {"first_visit": False, "reason": "check"},
        "is_returning_patient": True,
    }
    assert FOLLOW_UPS_OF_KNOWN_PATIENTS.matches(**{**request, **changes}) is matches  # type: ignore[arg-type]


def test_the_first_matching_rule_is_named_and_none_without_a_match() -> None:
    anything = AutoApprovalRule(name="anything-next-month", minimum_notice=30 * 24 * HOUR)
    configured = domain(auto_approval=(FOLLOW_UPS_OF_KNOWN_PATIENTS, anything))
    found = configured.auto_approval_rule(
        appointment_type="consultation", starts_at=NOW + 40 * 24 * HOUR, now=NOW, answers={}, is_returning_patient=False
    )
    assert found == anything
    assert (
        configured.auto_approval_rule(
            appointment_type="consultation", starts_at=NOW + HOUR, now=NOW, answers={}, is_returning_patient=True
        )
        is None
    )


def test_rules_name_existing_types_and_unique_names() -> None:
    with pytest.raises(InvalidConfiguration, match="no appointment type"):
        domain(auto_approval=(AutoApprovalRule(name="x", appointment_types=("surgery",)),))
    with pytest.raises(InvalidConfiguration, match="unique"):
        domain(auto_approval=(AutoApprovalRule(name="x"), AutoApprovalRule(name="x")))
    with pytest.raises(InvalidConfiguration, match="maximum notice"):
        AutoApprovalRule(name="x", minimum_notice=2 * HOUR, maximum_notice=HOUR)


def test_the_stored_form_keeps_every_setting_and_older_versions_read_as_defaults() -> None:
    configured = domain(
        auto_approval=(FOLLOW_UPS_OF_KNOWN_PATIENTS,),
        cancellation=CancellationPolicy(cutoff=48 * HOUR, reason_required=False, max_reschedules=None),
        hold_duration=timedelta(minutes=7),
        waitlist_offer_window=3 * HOUR,
    )
    assert decode_configuration(encode_configuration(configured)) == configured
    older = encode_configuration(domain())
    for name in ("auto_approval", "hold_minutes", "waitlist_offer_minutes"):
        del older[name]
    del older["cancellation"]["max_reschedules"]
    assert decode_configuration(older) == domain()


def entry(patient: str, joined_minutes: int, **changes: object) -> WaitlistEntry:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "resource_id": RESOURCE,
        "patient": patient,
        "appointment_type": "consultation",
        "earliest": NOW,
        "latest": NOW + 7 * 24 * HOUR,
        "joined_at": NOW - timedelta(minutes=joined_minutes),
    }
    return WaitlistEntry(**{**values, **changes})  # type: ignore[arg-type]


def first(
    entries: list[WaitlistEntry], *, starts_at: datetime = NOW + 24 * HOUR, freed_by: str = "leaver"
) -> str | None:
    found = next_in_line(
        entries, resource_id=RESOURCE, appointment_type="consultation", starts_at=starts_at, now=NOW, freed_by=freed_by
    )
    return None if found is None else found.patient


def test_the_patient_who_waited_longest_for_that_time_is_first() -> None:
    assert first([entry("newer", 5), entry("older", 50), entry("middle", 20)]) == "older"


def test_entries_for_another_time_type_or_resource_or_of_the_leaver_are_passed_over() -> None:
    assert first([entry("later-only", 90, earliest=NOW + 48 * HOUR), entry("ok", 1)]) == "ok"
    assert first([entry("follow-up", 90, appointment_type="follow-up"), entry("ok", 1)]) == "ok"
    assert first([entry("elsewhere", 90, resource_id=uuid.uuid4()), entry("ok", 1)]) == "ok"
    assert first([entry("leaver", 90), entry("ok", 1)]) == "ok"
    assert first([entry("leaver", 90)]) is None


def test_an_open_offer_waits_its_turn_but_a_lapsed_one_is_waiting_again() -> None:
    open_offer = entry("offered", 90, status=WaitlistStatus.OFFERED, offered_until=NOW + HOUR)
    lapsed = entry("lapsed", 80, status=WaitlistStatus.OFFERED, offered_until=NOW - HOUR)
    booked = entry("booked", 95, status=WaitlistStatus.BOOKED)
    assert first([open_offer, lapsed, booked, entry("new", 1)]) == "lapsed"


def test_the_latest_time_is_exclusive_and_entries_are_ordered_in_time() -> None:
    assert first([entry("p", 1, latest=NOW + 24 * HOUR)]) is None
    with pytest.raises(InvalidWaitlistEntry):
        entry("p", 1, latest=NOW)
