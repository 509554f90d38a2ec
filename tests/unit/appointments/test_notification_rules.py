"""A domain's notification rules: validation, merging per recipient, reminders, and the demo defaults."""

from __future__ import annotations

import pytest

from kairos.appointments.demo import LEGAL, MEDICAL
from kairos.appointments.domain.notifications import (
    CHANGES,
    DEFAULT_RULES,
    Addressed,
    InvalidNotificationRule,
    NotificationRule,
    addressed,
    reminders,
)
from kairos.appointments.repository import decode_configuration, encode_configuration


@pytest.mark.parametrize(
    ("change", "recipients", "channels", "before_hours", "complaint"),
    [
        ("confirmed", ("patient",), ("email",), (), "unknown change"),
        ("approved", ("neighbour",), ("email",), (), "unknown recipient"),
        ("approved", ("patient",), ("pigeon",), (), "unknown channel"),
        ("approved", (), ("email",), (), "at least one recipient"),
        ("approved", ("patient",), (), (), "at least one channel"),
        ("approved", ("patient", "patient"), ("email",), (), "listed twice"),
        ("approved", ("patient",), ("email",), (24.0,), "reminders only"),
        ("reminder", ("patient",), ("email",), (), "positive hours"),
        ("reminder", ("patient",), ("email",), (0.0,), "positive hours"),
    ],
)
def test_a_rule_with_an_unknown_or_misused_part_is_refused(
    change: str, recipients: tuple[str, ...], channels: tuple[str, ...], before_hours: tuple[float, ...], complaint: str
) -> None:
    with pytest.raises(InvalidNotificationRule, match=complaint):
        NotificationRule(change, recipients, channels, before_hours)


def test_rules_for_one_change_add_up_per_recipient_in_a_stable_order() -> None:
    rules = (
        NotificationRule("cancelled", ("staff", "patient"), ("email",)),
        NotificationRule("cancelled", ("patient",), ("sms", "email")),
        NotificationRule("approved", ("professional",), ("push",)),
    )
    assert addressed(rules, "cancelled") == (
        Addressed("patient", ("email", "sms")),
        Addressed("staff", ("email",)),
    )
    assert addressed(rules, "declined") == ()


def test_reminders_are_listed_earliest_first_with_their_own_recipients() -> None:
    rules = (
        NotificationRule("reminder", ("patient",), ("email",), (24.0,)),
        NotificationRule("reminder", ("patient",), ("sms",), (24.0, 2.0)),
        NotificationRule("reminder", ("professional",), ("in_app",), (1.0,)),
    )
    found = reminders(rules)
    assert [reminder.before_hours for reminder in found] == [24.0, 2.0, 1.0]
    assert found[0].to == (Addressed("patient", ("email", "sms")),)
    assert found[1].to == (Addressed("patient", ("sms",)),)
    assert found[2].to == (Addressed("professional", ("in_app",)),)


def test_every_change_but_the_practices_own_bookkeeping_tells_someone_by_default() -> None:
    silent = {change for change in CHANGES if not addressed(DEFAULT_RULES, change)}
    assert silent == {"arrived", "checked_in", "fulfilled", "entered_in_error"}
    assert addressed(DEFAULT_RULES, "requested") == (
        Addressed("patient", ("email",)),
        Addressed("professional", ("in_app", "email")),
        Addressed("staff", ("in_app", "email")),
    )


def test_the_demo_practice_texts_reminders_and_the_law_firm_never_texts() -> None:
    assert [(reminder.before_hours, reminder.to) for reminder in reminders(MEDICAL.notifications)] == [
        (24.0, (Addressed("patient", ("email", "push", "sms")),)),
        (2.0, (Addressed("patient", ("sms",)),)),
    ]
    legal_channels = {channel for rule in LEGAL.notifications for channel in rule.channels}
    assert legal_channels == {"email", "in_app"}


def test_rules_survive_storage_and_a_stored_version_without_rules_reads_as_the_defaults() -> None:
    stored = encode_configuration(MEDICAL)
    assert decode_configuration(stored).notifications == MEDICAL.notifications
    del stored["notifications"]
    assert decode_configuration(stored).notifications == DEFAULT_RULES
