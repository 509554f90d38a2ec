"""Kairos appointments as FHIR R4 resources, and FHIR R4 input as Kairos requests and decisions. Pure: no I/O.

How an appointment maps (FHIR R4 Appointment, http://hl7.org/fhir/R4/appointment.html):

- ``id`` is the appointment's id, ``meta.versionId`` the length of its event stream (each event is a version,
  so any version can be read back), ``meta.lastUpdated`` the time of its last event, ``created`` of its first.
- ``status`` is ours: Kairos statuses are FHIR R4 ``Appointment.status`` codes already.
- ``participant``: the patient as ``Patient/<account subject>``; the booked resource as
  ``Practitioner/<resource id>`` (a professional), ``Location/<resource id>`` (a room) or
  ``Device/<resource id>`` (a device). A subject that is not a valid FHIR id is given as a logical
  reference (``identifier`` in ``urn:kairos:subject``). The resource's participant status is
  ``needs-action`` while the request awaits a decision, ``declined`` once declined, else ``accepted``;
  whoever cancels an appointment shows as ``declined`` (the patient, or the resource for the practice).
- ``appointmentType`` and ``serviceType`` carry the domain's appointment type code (system
  ``urn:kairos:fhir:appointment-type``; codes are the domain's own) with its label; ``description`` reads
  "<type label> with <resource name>"; ``comment`` is the patient's message.
- ``cancelationReason`` says why a cancelled appointment was declined (the reason code in
  ``urn:kairos:fhir:decline-reason``, the free text as ``text``) or cancelled (the reason as ``text``).
- The domain's custom-field answers are accepted on create (extension ``urn:kairos:fhir:extension:
  request-answers``, ``valueString`` holding a JSON object) but never returned, as in the REST API.

An AppointmentResponse is one decision in an appointment's stream: its id is ``<appointment id>-<event
number>``; ``participantStatus`` is ``accepted`` (approved) or ``declined``. A decline needs a reason code:
the extension ``urn:kairos:fhir:extension:decline-reason-code`` (``valueCode``), or else the comment's
first word when the comment reads ``<code>`` or ``<code>: <free text>`` (e.g. ``fully_booked: try next
week``). The comment of an acceptance is not kept (approving records no text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PositiveInt

from kairos.appointments.domain.appointment import (
    Appointment,
    AppointmentEvent,
    Approved,
    Cancelled,
    Declined,
    Status,
)
from kairos.appointments.fhir_scopes import Context
from kairos.appointments.fhir_search import CURSOR, DEFAULT_COUNT, MAX_COUNT, STATUS_SYSTEM, as_uuid
from kairos.appointments.repository import Resource

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
CAPABILITIES_CHANGED = "2026-11-25"  # CapabilityStatement.date: when what this facade implements last changed

APPOINTMENT_TYPE_SYSTEM = "urn:kairos:fhir:appointment-type"
DECLINE_REASON_SYSTEM = "urn:kairos:fhir:decline-reason"
SUBJECT_SYSTEM = "urn:kairos:subject"
ANSWERS_EXTENSION = "urn:kairos:fhir:extension:request-answers"
DECLINE_REASON_EXTENSION = "urn:kairos:fhir:extension:decline-reason-code"

RESOURCE_TYPES = {"professional": "Practitioner", "room": "Location", "device": "Device"}
AWAITING_DECISION = frozenset({Status.PROPOSED, Status.PENDING, Status.WAITLIST})
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_CODE_IN_COMMENT = re.compile(r"(?P<code>[a-z0-9_-]{1,100})(?:\s*:\s*(?P<text>.*))?", re.DOTALL)

ParticipationStatus = Literal["accepted", "declined", "tentative", "needs-action"]
AppointmentStatusCode = Literal[
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
]


class InvalidResource(Exception):
    """The resource parses but cannot be what it claims (HTTP 400); ``expression`` points into it."""

    def __init__(self, message: str, *, expression: str | None = None, code: str = "value") -> None:
        super().__init__(message)
        self.expression = expression
        self.code = code


class Unprocessable(Exception):
    """A valid resource that this server's rules refuse (HTTP 422, FHIR R4 http §3.1.0.4.1)."""

    def __init__(self, message: str, *, expression: str | None = None, code: str = "business-rule") -> None:
        super().__init__(message)
        self.expression = expression
        self.code = code


# --- output -------------------------------------------------------------------------------------------------


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def reference(resource_type: str, identifier: str, *, display: str | None = None) -> dict[str, Any]:
    """A literal reference when ``identifier`` is a FHIR id, else a logical one (FHIR R4 Reference.identifier)."""
    found: dict[str, Any] = (
        {"reference": f"{resource_type}/{identifier}"}
        if _FHIR_ID.fullmatch(identifier)
        else {"type": resource_type, "identifier": {"system": SUBJECT_SYSTEM, "value": identifier}}
    )
    if display:
        found["display"] = display
    return found


@dataclass(frozen=True)
class AppointmentRecord:
    """An appointment as the facade shows it: its state, its stream of events, what it books and its type's label."""

    appointment: Appointment
    history: Sequence[AppointmentEvent]
    resource: Resource
    type_label: str | None = None

    def at_version(self, version: int) -> AppointmentRecord | None:
        if not 1 <= version <= len(self.history):
            return None
        events = list(self.history[:version])
        return AppointmentRecord(Appointment.replay(events), events, self.resource, self.type_label)

    @property
    def resource_reference(self) -> dict[str, Any]:
        kind = RESOURCE_TYPES.get(self.resource.kind, "Device")
        return reference(kind, str(self.resource.id), display=self.resource.display_name)


def appointment_resource(record: AppointmentRecord) -> dict[str, Any]:
    appointment, history = record.appointment, record.history
    label = record.type_label or appointment.appointment_type
    kind = {
        "coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": appointment.appointment_type, "display": label}],
        "text": label,
    }
    patient_status, resource_status = _participant_statuses(appointment, history)
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.id),
        "meta": {"versionId": str(appointment.version), "lastUpdated": instant(history[-1].occurred_at)},
        "status": appointment.status.value,
        "serviceType": [kind],
        "appointmentType": kind,
        "description": f"{label} with {record.resource.display_name}",
        "start": instant(appointment.period.starts_at),
        "end": instant(appointment.period.ends_at),
        "created": instant(history[0].occurred_at),
        "participant": [
            {"actor": reference("Patient", appointment.patient), "required": "required", "status": patient_status},
            {"actor": record.resource_reference, "required": "required", "status": resource_status},
        ],
    }
    if appointment.message:
        body["comment"] = appointment.message
    reason = _cancellation_reason(appointment, history)
    if reason is not None:
        body["cancelationReason"] = reason
    return body


def _participant_statuses(appointment: Appointment, history: Sequence[AppointmentEvent]) -> tuple[str, str]:
    patient, resource = "accepted", "needs-action" if appointment.status in AWAITING_DECISION else "accepted"
    for event in history:
        if isinstance(event, Declined):
            resource = "declined"
        elif isinstance(event, Cancelled):
            if event.actor == appointment.patient:
                patient = "declined"
            else:
                resource = "declined"
    return patient, resource


def _cancellation_reason(appointment: Appointment, history: Sequence[AppointmentEvent]) -> dict[str, Any] | None:
    # FHIR R4 invariant app-4: a cancellation reason only on cancelled or no-show appointments.
    if appointment.status not in {Status.CANCELLED, Status.NOSHOW}:
        return None
    for event in reversed(history):
        if isinstance(event, Declined):
            return {
                "coding": [{"system": DECLINE_REASON_SYSTEM, "code": event.reason_code}],
                "text": event.reason or event.reason_code,
            }
        if isinstance(event, Cancelled) and event.reason:
            return {"text": event.reason}
    return None


def response_id(appointment_id: UUID, sequence: int) -> str:
    return f"{appointment_id}-{sequence}"


def parse_response_id(text: str) -> tuple[UUID, int] | None:
    head, _, tail = text.rpartition("-")
    try:
        return UUID(head), int(tail)
    except ValueError:
        return None


def appointment_response_resource(record: AppointmentRecord, sequence: int) -> dict[str, Any] | None:
    """The decision that is event ``sequence`` of the appointment's stream, or None when that is no decision."""
    if not 1 <= sequence <= len(record.history):
        return None
    event = record.history[sequence - 1]
    if not isinstance(event, Approved | Declined):
        return None
    body: dict[str, Any] = {
        "resourceType": "AppointmentResponse",
        "id": response_id(record.appointment.id, sequence),
        "meta": {"versionId": "1", "lastUpdated": instant(event.occurred_at)},
        "appointment": {"reference": f"Appointment/{record.appointment.id}"},
        "actor": record.resource_reference,
        "participantStatus": "accepted" if isinstance(event, Approved) else "declined",
    }
    if isinstance(event, Declined):
        body["extension"] = [{"url": DECLINE_REASON_EXTENSION, "valueCode": event.reason_code}]
        if event.reason:
            body["comment"] = event.reason
    return body


def search_bundle(
    resources: Sequence[dict[str, Any]], *, base: str, self_url: str, next_url: str | None
) -> dict[str, Any]:
    links = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": links}
    if resources:
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ]
    return bundle


@dataclass(frozen=True)
class Issue:
    code: str  # FHIR R4 IssueType: invalid, structure, required, value, forbidden, not-found, conflict, …
    diagnostics: str
    severity: str = "error"
    expression: str | None = None


def operation_outcome(*issues: Issue) -> dict[str, Any]:
    entries = []
    for issue in issues:
        entry: dict[str, Any] = {"severity": issue.severity, "code": issue.code, "diagnostics": issue.diagnostics}
        if issue.expression:
            entry["expression"] = [issue.expression]
        entries.append(entry)
    return {"resourceType": "OperationOutcome", "issue": entries}


# --- capabilities -------------------------------------------------------------------------------------------

_SEARCH_PARAMETERS = [
    ("patient", "reference", "The patient's own account subject (Patient/<subject>)."),
    ("practitioner", "reference", "A professional's bookable resource (Practitioner/<resource id>)."),
    ("location", "reference", "A room's bookable resource (Location/<resource id>)."),
    ("actor", "reference", "Any participant: Patient, Practitioner, Location or Device."),
    (
        "date",
        "date",
        "Appointment.start, with prefixes eq (default), ne, gt, ge, lt, le; a date without a time is a UTC day.",
    ),
    ("status", "token", f"Appointment.status ({STATUS_SYSTEM})."),
]

SCOPE_RULES = (
    "SMART on FHIR scopes, v1 (patient/Appointment.read, user/*.write, system/*.read) or v2 "
    "(patient/Appointment.rs, user/AppointmentResponse.c): read and search need .read (r, s), create needs "
    ".write (c). patient/ scopes reach only the token subject's own appointments; user/ scopes reach what the "
    "user may see and do in Kairos (patients their own, professionals and staff their organisation's, "
    "operators all); system/ scopes count only on a client-credentials token (no user) and reach every "
    "appointment. Scopes with a v2 query restriction grant nothing."
)


_SCHEDULING_RESOURCES: list[dict[str, Any]] = [
    {
        "type": "Schedule",
        "profile": "http://hl7.org/fhir/StructureDefinition/Schedule",
        "documentation": (
            "A bookable resource's working time: the id is the resource's id, the actor its Practitioner, "
            f"Location or Device; serviceType lists the domain's appointment types ({APPOINTMENT_TYPE_SYSTEM})."
        ),
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "versioning": "no-version",
        "searchParam": [
            {
                "name": "actor",
                "definition": "http://hl7.org/fhir/SearchParameter/Schedule-actor",
                "type": "reference",
                "documentation": "Practitioner/<id>, Location/<id> or Device/<id> (a bookable resource).",
            },
            {
                "name": "active",
                "definition": "http://hl7.org/fhir/SearchParameter/Schedule-active",
                "type": "token",
                "documentation": "Every schedule here is active.",
            },
        ],
    },
    {
        "type": "Slot",
        "profile": "http://hl7.org/fhir/StructureDefinition/Slot",
        "documentation": (
            "Generated, never stored: free slots from the slot engine for each appointment type (serviceType), "
            "busy and busy-tentative from appointments (never saying whose), busy-unavailable from imported "
            "calendars. A search covers at most 31 days of start (from now and a week by default)."
        ),
        "interaction": [{"code": "search-type"}],
        "versioning": "no-version",
        "searchParam": [
            {
                "name": "schedule",
                "definition": "http://hl7.org/fhir/SearchParameter/Slot-schedule",
                "type": "reference",
                "documentation": "Schedule/<id>; a comma means any of them.",
            },
            {
                "name": "start",
                "definition": "http://hl7.org/fhir/SearchParameter/Slot-start",
                "type": "date",
                "documentation": "Slot.start, with prefixes ge, gt, lt, le, eq.",
            },
            {
                "name": "status",
                "definition": "http://hl7.org/fhir/SearchParameter/Slot-status",
                "type": "token",
                "documentation": "free, busy, busy-tentative, busy-unavailable.",
            },
            {
                "name": "service-type",
                "definition": "http://hl7.org/fhir/SearchParameter/Slot-service-type",
                "type": "token",
                "documentation": f"An appointment type code ({APPOINTMENT_TYPE_SYSTEM}).",
            },
        ],
    },
]


def capability_statement(*, base: str, issuer: str, software_version: str) -> dict[str, Any]:
    """What this facade implements, exactly: Appointment read/vread/search/create, AppointmentResponse read/create."""
    issuer = issuer.rstrip("/")
    return {
        "resourceType": "CapabilityStatement",
        "name": "KairosAppointments",
        "title": "Kairos appointments: FHIR R4 facade",
        "status": "active",
        "experimental": False,
        "date": CAPABILITIES_CHANGED,
        "publisher": "Kairos",
        "description": (
            "Appointments of the Kairos appointments service. Creating an Appointment is a request (status "
            "proposed or pending; the domain's workflow decides whether it is booked at once or awaits a "
            "decision); an AppointmentResponse from the practice approves or declines it. A Schedule is a "
            "bookable resource's working time; Slots are generated from it by the slot engine (free), from "
            "appointments (busy, busy-tentative) and from imported calendars (busy-unavailable)."
        ),
        "kind": "instance",
        "software": {"name": "Kairos", "version": software_version},
        "implementation": {"description": "Kairos appointments service", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json", FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    f"Search pages by _count (at most {MAX_COUNT}, {DEFAULT_COUNT} by default); follow the "
                    f"Bundle's next link (an opaque {CURSOR}). Unknown search parameters are ignored unless "
                    "the request says Prefer: handling=strict."
                ),
                "security": {
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [
                                {"url": "authorize", "valueUri": f"{issuer}/authorize"},
                                {"url": "token", "valueUri": f"{issuer}/token"},
                                {"url": "revoke", "valueUri": f"{issuer}/revoke"},
                                {"url": "introspect", "valueUri": f"{issuer}/introspect"},
                            ],
                        }
                    ],
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                    "display": "SMART-on-FHIR",
                                }
                            ],
                            "text": "OAuth 2.0 bearer tokens with SMART on FHIR scopes",
                        }
                    ],
                    "description": SCOPE_RULES,
                },
                "resource": [
                    {
                        "type": "Appointment",
                        "profile": "http://hl7.org/fhir/StructureDefinition/Appointment",
                        "documentation": (
                            "Create is a request by the patient named as the Patient participant (the token's "
                            "subject), for one Practitioner, Location or Device participant; the appointment "
                            f"type is a code in {APPOINTMENT_TYPE_SYSTEM} (appointmentType or serviceType); the "
                            f"domain's form answers go in the extension {ANSWERS_EXTENSION} (valueString, a JSON "
                            "object); without an end, the appointment type's duration applies."
                        ),
                        "interaction": [
                            {"code": "read"},
                            {"code": "vread"},
                            {"code": "search-type"},
                            {"code": "create"},
                        ],
                        "versioning": "versioned",
                        "readHistory": True,
                        "updateCreate": False,
                        "conditionalCreate": False,
                        "conditionalRead": "not-supported",
                        "conditionalUpdate": False,
                        "conditionalDelete": "not-supported",
                        "searchParam": [
                            {
                                "name": name,
                                "definition": f"http://hl7.org/fhir/SearchParameter/Appointment-{name}",
                                "type": kind,
                                "documentation": documentation,
                            }
                            for name, kind, documentation in _SEARCH_PARAMETERS
                        ],
                    },
                    {
                        "type": "AppointmentResponse",
                        "profile": "http://hl7.org/fhir/StructureDefinition/AppointmentResponse",
                        "documentation": (
                            "Create approves (participantStatus accepted) or declines (declined) a pending "
                            "request, by the practice's professionals and staff. A decline needs a reason code: "
                            f"the extension {DECLINE_REASON_EXTENSION} (valueCode), or a comment that reads "
                            "'<code>' or '<code>: <free text>'. Read returns a decision made earlier."
                        ),
                        "interaction": [{"code": "read"}, {"code": "create"}],
                        "versioning": "no-version",
                        "conditionalCreate": False,
                    },
                    *_SCHEDULING_RESOURCES,
                ],
            }
        ],
    }


SMART_SCOPES = [
    f"{context}/{resource_type}.{mode}"
    for context in Context
    for resource_type in ("Appointment", "AppointmentResponse", "*")
    for mode in ("read", "write")
] + [f"{context}/{resource_type}.read" for context in Context for resource_type in ("Schedule", "Slot")]


def smart_configuration(*, issuer: str) -> dict[str, Any]:
    """SMART App Launch 2.0 discovery (``.well-known/smart-configuration``), naming the identity service's endpoints."""
    issuer = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks",
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile", *SMART_SCOPES],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "client-public",
            "client-confidential-symmetric",
            "sso-openid-connect",
            "permission-v1",
            "permission-v2",
            "permission-patient",
            "permission-user",
        ],
    }


# --- input --------------------------------------------------------------------------------------------------


class _Element(BaseModel):
    # Elements this server does not use are allowed and ignored; a modifier extension never is (below).
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class FhirReference(_Element):
    reference: str | None = Field(default=None, min_length=1)


class FhirCoding(_Element):
    system: str | None = None
    code: str | None = Field(default=None, min_length=1)


class FhirCodeableConcept(_Element):
    coding: list[FhirCoding] = Field(default_factory=list)
    text: str | None = None


class FhirExtension(_Element):
    url: str = Field(min_length=1)
    value_string: str | None = Field(default=None, alias="valueString")
    value_code: str | None = Field(default=None, alias="valueCode")


class FhirParticipant(_Element):
    actor: FhirReference | None = None
    status: ParticipationStatus
    modifier_extension: list[dict[str, Any]] | None = Field(default=None, alias="modifierExtension")


@dataclass(frozen=True)
class AppointmentRequest:
    """What a FHIR create asks of ``service.request_appointment``."""

    patient: str
    resource_type: str  # Practitioner, Location or Device
    resource_id: UUID
    appointment_type: str
    starts_at: datetime
    ends_at: datetime | None
    message: str | None
    answers: dict[str, Any]


class FhirAppointment(_Element):
    """An Appointment to create: a request (FHIR R4 Appointment; the elements Kairos reads)."""

    resource_type: Literal["Appointment"] = Field(alias="resourceType")
    status: AppointmentStatusCode
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    minutes_duration: PositiveInt | None = Field(default=None, alias="minutesDuration")
    participant: list[FhirParticipant] = Field(min_length=1)
    appointment_type: FhirCodeableConcept | None = Field(default=None, alias="appointmentType")
    service_type: list[FhirCodeableConcept] = Field(default_factory=list, alias="serviceType")
    comment: str | None = Field(default=None, min_length=1, max_length=4000)
    extension: list[FhirExtension] = Field(default_factory=list)
    modifier_extension: list[dict[str, Any]] | None = Field(default=None, alias="modifierExtension")

    def to_request(self) -> AppointmentRequest:
        _refuse_modifier_extensions(self.modifier_extension, *(p.modifier_extension for p in self.participant))
        if self.status not in {Status.PROPOSED, Status.PENDING}:
            raise Unprocessable(
                "creating an Appointment is a request: its status is proposed or pending",
                expression="Appointment.status",
            )
        if self.start is None:
            raise Unprocessable("a request needs its start", expression="Appointment.start", code="required")
        ends_at = self.end
        if self.minutes_duration is not None:
            by_duration = self.start + timedelta(minutes=self.minutes_duration)
            if ends_at is not None and ends_at != by_duration:
                raise InvalidResource("end and minutesDuration disagree", expression="Appointment.minutesDuration")
            ends_at = by_duration
        if ends_at is not None and ends_at <= self.start:
            raise InvalidResource("the appointment must end after it starts", expression="Appointment.end")
        patient, (resource_type, resource_id) = self._participants()
        return AppointmentRequest(
            patient=patient,
            resource_type=resource_type,
            resource_id=resource_id,
            appointment_type=self._appointment_type(),
            starts_at=self.start,
            ends_at=ends_at,
            message=self.comment,
            answers=self._answers(),
        )

    def _participants(self) -> tuple[str, tuple[str, UUID]]:
        patients: list[str] = []
        resources: list[tuple[str, UUID]] = []
        for index, participant in enumerate(self.participant):
            expression = f"Appointment.participant[{index}].actor"
            target = participant.actor.reference if participant.actor is not None else None
            if target is None:
                raise Unprocessable("every participant must name its actor by reference", expression=expression)
            resource_type, _, identifier = target.rpartition("/")
            resource_type = resource_type.rpartition("/")[2]
            if resource_type == "Patient" and identifier:
                patients.append(identifier)
            elif resource_type in RESOURCE_TYPES.values():
                resource_id = as_uuid(identifier)
                if resource_id is None:
                    raise Unprocessable(f"{target} is not a bookable resource here", expression=expression)
                resources.append((resource_type, resource_id))
            else:
                raise Unprocessable(
                    f"{target}: participants are one Patient and one Practitioner, Location or Device",
                    expression=expression,
                )
        if len(patients) != 1 or len(resources) != 1:
            raise Unprocessable(
                "a request has exactly one Patient participant and one Practitioner, Location or Device",
                expression="Appointment.participant",
            )
        return patients[0], resources[0]

    def _appointment_type(self) -> str:
        concepts = [self.appointment_type, *self.service_type] if self.appointment_type else self.service_type
        codes = {
            coding.code
            for concept in concepts
            if concept is not None
            for coding in concept.coding
            if coding.code and coding.system in {None, APPOINTMENT_TYPE_SYSTEM}
        }
        if len(codes) != 1:
            raise Unprocessable(
                f"name one appointment type: a code in {APPOINTMENT_TYPE_SYSTEM} in appointmentType or serviceType",
                expression="Appointment.appointmentType",
                code="required" if not codes else "business-rule",
            )
        return codes.pop()

    def _answers(self) -> dict[str, Any]:
        given = [extension for extension in self.extension if extension.url == ANSWERS_EXTENSION]
        if not given:
            return {}
        expression = f"Appointment.extension('{ANSWERS_EXTENSION}')"
        if len(given) > 1 or given[0].value_string is None:
            raise InvalidResource("the answers are one valueString holding a JSON object", expression=expression)
        try:
            answers = json.loads(given[0].value_string)
        except ValueError as error:
            raise InvalidResource(f"the answers are not JSON: {error}", expression=expression) from error
        if not isinstance(answers, dict):
            raise InvalidResource("the answers are a JSON object", expression=expression)
        return answers


@dataclass(frozen=True)
class Decision:
    """What a FHIR AppointmentResponse asks: approve, or decline with a reason code (and free text)."""

    appointment_id: UUID
    approve: bool
    reason_code: str | None = None
    reason: str | None = None


class FhirAppointmentResponse(_Element):
    """A practice's answer to a request (FHIR R4 AppointmentResponse; the elements Kairos reads)."""

    resource_type: Literal["AppointmentResponse"] = Field(alias="resourceType")
    appointment: FhirReference
    participant_status: ParticipationStatus = Field(alias="participantStatus")
    actor: FhirReference | None = None
    comment: str | None = Field(default=None, min_length=1, max_length=2000)
    extension: list[FhirExtension] = Field(default_factory=list)
    modifier_extension: list[dict[str, Any]] | None = Field(default=None, alias="modifierExtension")

    def to_decision(self) -> Decision:
        _refuse_modifier_extensions(self.modifier_extension)
        target = self.appointment.reference or ""
        resource_type, _, identifier = target.rpartition("/")
        appointment_id = as_uuid(identifier) if resource_type.rpartition("/")[2] == "Appointment" else None
        if appointment_id is None:
            raise Unprocessable(
                f"{target or 'the reference'} is not an appointment of this server",
                expression="AppointmentResponse.appointment",
                code="not-found",
            )
        if self.actor is not None and (self.actor.reference or "").startswith("Patient/"):
            raise Unprocessable(
                "requests are answered by the practice; a patient's response is not supported",
                expression="AppointmentResponse.actor",
                code="not-supported",
            )
        if self.participant_status == "accepted":
            return Decision(appointment_id, approve=True)
        if self.participant_status != "declined":
            raise Unprocessable(
                "participantStatus is accepted (approve) or declined (decline)",
                expression="AppointmentResponse.participantStatus",
                code="not-supported",
            )
        reason_code, reason = self._reason()
        return Decision(appointment_id, approve=False, reason_code=reason_code, reason=reason)

    def _reason(self) -> tuple[str, str | None]:
        codes = [
            extension.value_code
            for extension in self.extension
            if extension.url == DECLINE_REASON_EXTENSION and extension.value_code
        ]
        if codes:
            return codes[0], self.comment
        matched = _CODE_IN_COMMENT.fullmatch((self.comment or "").strip())
        if matched is None:
            raise Unprocessable(
                f"a decline needs a reason code: the extension {DECLINE_REASON_EXTENSION} (valueCode), or a "
                "comment that reads '<code>' or '<code>: <free text>', e.g. 'fully_booked: please try next week'",
                expression="AppointmentResponse.comment",
                code="required",
            )
        return matched["code"], (matched["text"] or "").strip() or None


def _refuse_modifier_extensions(*found: list[dict[str, Any]] | None) -> None:
    # FHIR R4 §2.4.1: a modifier extension this server does not know changes the meaning; it must refuse.
    if any(found):
        raise Unprocessable("modifier extensions are not supported", code="not-supported")
