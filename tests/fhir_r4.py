"""Is this JSON a valid FHIR R4 resource? Checked three ways: the R4B models of ``fhir.resources`` (pydantic;
R4B keeps R4's shapes for every resource used here), ``fhirclient``'s R4 (4.0.1) models, and the required
value-set bindings and invariants that neither library checks."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhirclient.models.fhirelementfactory import FHIRElementFactory

# Required bindings of FHIR R4 (http://hl7.org/fhir/R4/valueset-*.html).
APPOINTMENT_STATUS = {
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
}
PARTICIPATION_STATUS = {"accepted", "declined", "tentative", "needs-action"}
PARTICIPANT_REQUIRED = {"required", "optional", "information-only"}
BUNDLE_TYPE = {
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
}
SEARCH_ENTRY_MODE = {"match", "include", "outcome"}
ISSUE_SEVERITY = {"fatal", "error", "warning", "information"}
ISSUE_TYPE = {
    "invalid",
    "structure",
    "required",
    "value",
    "invariant",
    "security",
    "login",
    "unknown",
    "expired",
    "forbidden",
    "suppressed",
    "processing",
    "not-supported",
    "duplicate",
    "multiple-matches",
    "not-found",
    "deleted",
    "too-long",
    "code-invalid",
    "extension",
    "too-costly",
    "business-rule",
    "conflict",
    "transient",
    "lock-error",
    "no-store",
    "exception",
    "timeout",
    "incomplete",
    "throttled",
    "informational",
}
PUBLICATION_STATUS = {"draft", "active", "retired", "unknown"}
CAPABILITY_KIND = {"instance", "capability", "requirements"}
RESTFUL_MODE = {"client", "server"}
TYPE_INTERACTION = {
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
}
SEARCH_PARAM_TYPE = {"number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special"}
VERSIONING = {"no-version", "versioned", "versioned-update"}
CONDITIONAL_READ = {"not-supported", "modified-since", "not-match", "full-support"}
CONDITIONAL_DELETE = {"not-supported", "single", "multiple"}


def assert_valid_r4(resource: dict[str, Any]) -> None:
    kind = resource["resourceType"]
    get_fhir_model_class(kind).model_validate(resource)
    FHIRElementFactory.instantiate(kind, resource)  # strict: unknown or missing required elements raise
    CHECKS.get(kind, lambda _: None)(resource)


def _appointment(resource: dict[str, Any]) -> None:
    status = resource["status"]
    assert status in APPOINTMENT_STATUS, status
    for participant in resource["participant"]:
        assert participant["status"] in PARTICIPATION_STATUS, participant
        assert participant.get("required", "required") in PARTICIPANT_REQUIRED, participant
        assert "type" in participant or "actor" in participant, "app-1"
    assert ("start" in resource) == ("end" in resource), "app-2"
    assert "start" in resource or status in {"proposed", "cancelled", "waitlist"}, "app-3"
    assert "cancelationReason" not in resource or status in {"cancelled", "noshow"}, "app-4"


def _appointment_response(resource: dict[str, Any]) -> None:
    assert resource["participantStatus"] in PARTICIPATION_STATUS
    assert "actor" in resource or "participantType" in resource, "apr-1"


def _bundle(resource: dict[str, Any]) -> None:
    assert resource["type"] in BUNDLE_TYPE
    for entry in resource.get("entry", []):
        if resource["type"] == "searchset":
            assert entry["search"]["mode"] in SEARCH_ENTRY_MODE
            assert entry["fullUrl"].endswith(f"/{entry['resource']['resourceType']}/{entry['resource']['id']}")
        else:
            assert "search" not in entry, "bdl-2"
        assert_valid_r4(entry["resource"])


def _operation_outcome(resource: dict[str, Any]) -> None:
    assert resource["issue"]
    for issue in resource["issue"]:
        assert issue["severity"] in ISSUE_SEVERITY, issue
        assert issue["code"] in ISSUE_TYPE, issue


def _capability_statement(resource: dict[str, Any]) -> None:
    assert resource["status"] in PUBLICATION_STATUS
    assert resource["kind"] in CAPABILITY_KIND
    assert resource["fhirVersion"] == "4.0.1"
    assert resource.get("rest") or resource.get("messaging") or resource.get("document"), "cpb-1"
    assert resource.get("description") or resource.get("software") or resource.get("implementation"), "cpb-2"
    for rest in resource["rest"]:
        assert rest["mode"] in RESTFUL_MODE
        for described in rest["resource"]:
            assert {item["code"] for item in described["interaction"]} <= TYPE_INTERACTION
            assert {item["type"] for item in described.get("searchParam", [])} <= SEARCH_PARAM_TYPE
            assert described.get("versioning", "no-version") in VERSIONING
            assert described.get("conditionalRead", "not-supported") in CONDITIONAL_READ
            assert described.get("conditionalDelete", "not-supported") in CONDITIONAL_DELETE


CHECKS = {
    "Appointment": _appointment,
    "AppointmentResponse": _appointment_response,
    "Bundle": _bundle,
    "OperationOutcome": _operation_outcome,
    "CapabilityStatement": _capability_statement,
}
