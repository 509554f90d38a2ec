"""Notification preferences, and the one mapping of roles to permissions with its rules against escalation."""

from __future__ import annotations

import pytest

from kairos.identity.domain.profiles import (
    DEFAULT_CHANNELS,
    Channel,
    MandatoryChannel,
    NotificationKind,
    NotificationPreferences,
)
from kairos.identity.domain.roles import (
    Role,
    RoleChangeForbidden,
    authorise_role_change,
    effective_permissions,
    may,
)


def test_preferences_start_from_the_defaults_and_change_only_the_kinds_named() -> None:
    changed = NotificationPreferences().changed({NotificationKind.REMINDERS: frozenset({Channel.SMS, Channel.EMAIL})})

    assert changed.channels[NotificationKind.REMINDERS] == {Channel.SMS, Channel.EMAIL}
    assert changed.channels[NotificationKind.MESSAGES] == DEFAULT_CHANNELS[NotificationKind.MESSAGES]


def test_a_kind_can_be_silenced_but_security_notices_always_go_by_email() -> None:
    silenced = NotificationPreferences().changed({NotificationKind.DOCUMENTS: frozenset()})
    assert silenced.channels[NotificationKind.DOCUMENTS] == frozenset()

    with pytest.raises(MandatoryChannel):
        NotificationPreferences().changed({NotificationKind.ACCOUNT_SECURITY: frozenset({Channel.PUSH})})


def test_preferences_survive_storage_and_unknown_stored_names_are_dropped() -> None:
    preferences = NotificationPreferences().changed({NotificationKind.MESSAGES: frozenset({Channel.PUSH})})
    stored = preferences.to_plain()
    stored["retired_kind"] = ["email"]
    stored["reminders"] = ["email", "carrier_pigeon"]

    restored = NotificationPreferences.from_plain(stored)

    assert restored.channels[NotificationKind.MESSAGES] == {Channel.PUSH}
    assert restored.channels[NotificationKind.REMINDERS] == {Channel.EMAIL}
    assert set(restored.to_plain()) == {kind.value for kind in NotificationKind}


@pytest.mark.parametrize(
    ("roles", "permission", "granted"),
    [
        ({Role.PROFESSIONAL}, "professionals:submit", True),
        ({Role.PROFESSIONAL}, "professionals:verify", False),
        ({Role.STAFF}, "professionals:verify", True),
        ({Role.DOMAIN_ADMIN}, "professionals:verify", True),
        ({Role.OPERATOR}, "professionals:verify", True),
        ({Role.PATIENT}, "professionals:verify", False),
        ({Role.DOMAIN_ADMIN}, "roles:manage", True),
        ({Role.STAFF}, "roles:manage", False),
        ({Role.DOMAIN_ADMIN}, "users:manage", False),
        ({Role.OPERATOR}, "users:manage", True),
        ({Role.PATIENT, Role.STAFF}, "appointments:book_for", True),
    ],
)
def test_permissions_come_from_the_roles_together(roles: set[Role], permission: str, granted: bool) -> None:
    assert may(frozenset(roles), permission) is granted
    assert (permission in effective_permissions(frozenset(roles))) is granted


@pytest.mark.parametrize("role", [Role.PROFESSIONAL, Role.STAFF, Role.DOMAIN_ADMIN])
def test_a_domain_admin_gives_the_organisational_roles(role: Role) -> None:
    authorise_role_change(actor_roles=frozenset({Role.DOMAIN_ADMIN}), role=role)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.PATIENT])
def test_a_domain_admin_gives_no_global_role(role: Role) -> None:
    with pytest.raises(RoleChangeForbidden):
        authorise_role_change(actor_roles=frozenset({Role.DOMAIN_ADMIN}), role=role)


@pytest.mark.parametrize("actor", [Role.PATIENT, Role.PROFESSIONAL, Role.STAFF])
@pytest.mark.parametrize("role", list(Role))
def test_roles_without_role_management_give_nothing(actor: Role, role: Role) -> None:
    with pytest.raises(RoleChangeForbidden):
        authorise_role_change(actor_roles=frozenset({actor}), role=role)


@pytest.mark.parametrize("role", list(Role))
def test_an_operator_gives_every_role(role: Role) -> None:
    authorise_role_change(actor_roles=frozenset({Role.OPERATOR}), role=role)
