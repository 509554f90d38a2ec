"""SMART on FHIR scopes, v1 and v2 spellings: what each grants, in which context, and what grants nothing."""

from __future__ import annotations

import pytest

from kairos.appointments.fhir_scopes import (
    Context,
    Interaction,
    SmartScope,
    granted_contexts,
    needed_scope,
    parse_scope,
)

C, R, U, D, S = Interaction.CREATE, Interaction.READ, Interaction.UPDATE, Interaction.DELETE, Interaction.SEARCH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("patient/Appointment.read", SmartScope(Context.PATIENT, "Appointment", frozenset({R, S}))),
        ("user/Appointment.write", SmartScope(Context.USER, "Appointment", frozenset({C, U, D}))),
        ("system/*.read", SmartScope(Context.SYSTEM, "*", frozenset({R, S}))),
        ("user/*.*", SmartScope(Context.USER, "*", frozenset({C, R, U, D, S}))),
        ("patient/Appointment.rs", SmartScope(Context.PATIENT, "Appointment", frozenset({R, S}))),
        ("user/AppointmentResponse.cu", SmartScope(Context.USER, "AppointmentResponse", frozenset({C, U}))),
        ("system/*.cruds", SmartScope(Context.SYSTEM, "*", frozenset({C, R, U, D, S}))),
        ("system/Appointment.s", SmartScope(Context.SYSTEM, "Appointment", frozenset({S}))),
    ],
)
def test_v1_and_v2_scopes_name_the_same_interactions(text: str, expected: SmartScope) -> None:
    assert parse_scope(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "openid",
        "profile",
        "launch/patient",
        "appointments.read",
        "patient/Appointment",  # no permissions
        "patient/Appointment.",  # empty permissions
        "patient/Appointment.sr",  # v2 letters out of order (c r u d s)
        "patient/Appointment.rr",
        "patient/Appointment.readwrite",
        "practitioner/Appointment.read",  # no such context
        "patient/appointment.read",  # resource types are capitalised
        "patient/Appointment.rs?status=booked",  # a query restriction we could not enforce
        "patient/Appointment.read ",
    ],
)
def test_anything_else_is_not_a_smart_resource_scope(text: str) -> None:
    assert parse_scope(text) is None


def test_a_scope_allows_its_own_type_or_every_type_when_wildcarded() -> None:
    own = parse_scope("user/Appointment.read")
    wildcard = parse_scope("user/*.read")
    assert own is not None
    assert wildcard is not None
    assert own.allows("Appointment", R)
    assert own.allows("Appointment", S)
    assert not own.allows("Appointment", C)
    assert not own.allows("AppointmentResponse", R)
    assert wildcard.allows("AppointmentResponse", S)


def contexts(
    *scopes: str, interaction: Interaction, resource_type: str = "Appointment", client: bool = False
) -> set[str]:
    return set(granted_contexts(scopes, resource_type=resource_type, interaction=interaction, acts_for_itself=client))


def test_a_user_token_gets_the_contexts_its_scopes_name_for_the_interaction() -> None:
    scopes = ("openid", "patient/Appointment.read", "user/Appointment.rs", "user/AppointmentResponse.c")
    assert contexts(*scopes, interaction=R) == {"patient", "user"}
    assert contexts(*scopes, interaction=S) == {"patient", "user"}
    assert contexts(*scopes, interaction=C) == set()
    assert contexts(*scopes, interaction=C, resource_type="AppointmentResponse") == {"user"}


def test_a_read_only_token_cannot_write() -> None:
    assert contexts("patient/Appointment.read", "patient/*.rs", interaction=C) == set()
    assert contexts("patient/Appointment.read", "patient/Appointment.write", interaction=C) == {"patient"}


def test_system_scopes_count_only_for_a_client_acting_for_itself() -> None:
    assert contexts("system/*.read", interaction=S, client=True) == {"system"}
    # A user's token cannot widen its reach by carrying a system scope …
    assert contexts("system/*.read", interaction=S) == set()
    # … and a client without a user has no patient or user context.
    assert contexts("user/*.read", "patient/*.read", interaction=S, client=True) == set()


def test_an_insufficient_scope_answer_names_a_scope_that_would_do_in_the_tokens_own_context() -> None:
    def needed(*scopes: str, interaction: Interaction, client: bool = False) -> str:
        return needed_scope(scopes, resource_type="Appointment", interaction=interaction, acts_for_itself=client)

    assert needed("patient/Appointment.read", interaction=C) == "patient/Appointment.write"
    assert needed("openid", interaction=C) == "user/Appointment.write"
    assert needed("patient/*.read", "user/Appointment.read", interaction=C) == "user/Appointment.write"
    assert needed("system/Patient.read", interaction=S, client=True) == "system/Appointment.read"
