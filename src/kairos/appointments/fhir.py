"""The FHIR R4 facade of the appointments service, at ``/fhir/R4``: Appointment and AppointmentResponse.

Every answer is ``application/fhir+json``; every error is an OperationOutcome (not RFC 9457) with the status
FHIR R4 http §3.1.0 gives. Access is by SMART on FHIR scopes (``fhir_scopes``); within the context a scope
grants, the service's own rules decide. How resources map is told in ``fhir_mapping``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from kairos.appointments import fhir_queries, service
from kairos.appointments.access_audit import commit_reads
from kairos.appointments.domain.appointment import IllegalTransition, ReasonRequired
from kairos.appointments.domain.configuration import AnswersRejected, UnknownAppointmentType
from kairos.appointments.fhir_mapping import (
    ANSWERS_EXTENSION,
    FHIR_JSON,
    RESOURCE_TYPES,
    AppointmentRecord,
    FhirAppointment,
    FhirAppointmentResponse,
    InvalidResource,
    Issue,
    Unprocessable,
    appointment_resource,
    appointment_response_resource,
    capability_statement,
    operation_outcome,
    parse_response_id,
    search_bundle,
    smart_configuration,
)
from kairos.appointments.fhir_scopes import Context, Interaction, granted_contexts, needed_scope
from kairos.appointments.fhir_search import SearchError, as_uuid, parse_appointment_search
from kairos.appointments.repository import AppointmentsUnitOfWork, ConcurrentChange, NotFound, TimeTaken
from kairos.appointments.service import Forbidden, MissingEnd, NoSchedule, NotOffered
from kairos.platform.auth import CurrentPrincipal, Principal
from kairos.platform.auth.principal import BEARER_CHALLENGE
from kairos.platform.http.problems import ProblemError
from kairos.platform.runtime import kairos_version, unit_of_work

log = structlog.get_logger(__name__)

PREFIX = "/fhir/R4"


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


class InsufficientScope(Exception):
    """The token's scopes do not allow this interaction (RFC 6750 §3.1 ``insufficient_scope``)."""

    def __init__(self, message: str, *, scope: str) -> None:
        super().__init__(message)
        self.scope = scope


class UnsupportedInteraction(Exception):
    def __init__(self, message: str, *, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed


# Domain refusals as FHIR answers: (HTTP status, FHIR R4 IssueType).
REFUSALS: dict[type[Exception], tuple[int, str]] = {
    NotFound: (404, "not-found"),
    Forbidden: (403, "forbidden"),
    TimeTaken: (409, "conflict"),
    ConcurrentChange: (409, "conflict"),
    IllegalTransition: (409, "business-rule"),
    ReasonRequired: (422, "required"),
    UnknownAppointmentType: (422, "code-invalid"),
    MissingEnd: (422, "required"),
    NotOffered: (422, "business-rule"),
    NoSchedule: (422, "business-rule"),
}
ISSUE_TYPES_BY_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    413: "too-costly",
}


class FhirRoute(APIRoute):
    """A route whose every error is answered as an OperationOutcome, whichever layer raised it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        resource_type = self.path.removeprefix(PREFIX).strip("/").split("/")[0] or "Resource"

        async def handle_as_fhir(request: Request) -> Response:
            try:
                return await handle(request)
            except Exception as error:
                return outcome_response(request, error, resource_type=resource_type)

        return handle_as_fhir


router = APIRouter(prefix=PREFIX, route_class=FhirRoute, include_in_schema=False)

Uow = Annotated[AppointmentsUnitOfWork, Depends(unit_of_work)]


@dataclass(frozen=True)
class Access:
    principal: Principal
    contexts: frozenset[Context]  # where the token's SMART scopes allow the interaction


def smart(resource_type: str, interaction: Interaction) -> Callable[..., Coroutine[Any, Any, Access]]:
    """A dependency: the caller, and the contexts in which its scopes allow ``interaction`` on ``resource_type``."""

    async def check(me: CurrentPrincipal) -> Access:
        # Identity gives a client-credentials token the client's id as its subject, and no user.
        acts_for_itself = me.client_id is not None and me.subject == me.client_id
        contexts = granted_contexts(
            me.scopes, resource_type=resource_type, interaction=interaction, acts_for_itself=acts_for_itself
        )
        if not contexts:
            needed = needed_scope(
                me.scopes, resource_type=resource_type, interaction=interaction, acts_for_itself=acts_for_itself
            )
            raise InsufficientScope(f"this needs a SMART scope such as {needed}", scope=needed)
        return Access(me, contexts)

    return check


ReadsAppointments = Annotated[Access, Depends(smart("Appointment", Interaction.READ))]
SearchesAppointments = Annotated[Access, Depends(smart("Appointment", Interaction.SEARCH))]
CreatesAppointments = Annotated[Access, Depends(smart("Appointment", Interaction.CREATE))]
ReadsResponses = Annotated[Access, Depends(smart("AppointmentResponse", Interaction.READ))]
CreatesResponses = Annotated[Access, Depends(smart("AppointmentResponse", Interaction.CREATE))]


@router.get("/metadata")
async def metadata(request: Request) -> Response:
    """The CapabilityStatement: exactly what this facade implements, and how to get a token (SMART on FHIR)."""
    issuer = request.app.state.runtime.settings.auth_issuer
    return FhirResponse(capability_statement(base=fhir_base(request), issuer=issuer, software_version=kairos_version()))


@router.get("/.well-known/smart-configuration")
async def smart_discovery(request: Request) -> Response:
    """SMART App Launch 2.0 discovery: the authorisation server and the scopes this facade understands."""
    return JSONResponse(smart_configuration(issuer=request.app.state.runtime.settings.auth_issuer))


@router.get("/Appointment/{appointment_id}")
async def read_appointment(appointment_id: str, request: Request, uow: Uow, access: ReadsAppointments) -> Response:
    """An appointment, to whoever may see it (others get 404: its existence is not revealed)."""
    record = await _visible(uow, access, _appointment_id(appointment_id))
    return _resource_response(appointment_resource(record))


@router.get("/Appointment/{appointment_id}/_history/{version_id}")
async def read_appointment_version(
    appointment_id: str, version_id: str, request: Request, uow: Uow, access: ReadsAppointments
) -> Response:
    """An appointment as it was at one version: its stream of events replayed up to there."""
    record = await _visible(uow, access, _appointment_id(appointment_id))
    past = record.at_version(int(version_id)) if version_id.isdigit() else None
    if past is None:
        raise NotFound(f"Appointment/{appointment_id} has no version {version_id}")
    return _resource_response(appointment_resource(past))


@router.get("/Appointment")
async def search_appointments(request: Request, uow: Uow, access: SearchesAppointments) -> Response:
    """Appointments by patient, practitioner, location, actor, date and status, a page at a time."""
    criteria = parse_appointment_search(request.query_params.multi_items(), strict=_prefers_strict(request))
    visible = fhir_queries.visible_to(access.principal, access.contexts)
    records, next_cursor = await fhir_queries.search(uow, criteria, visible=visible)
    await commit_reads(uow, access.principal, [record.appointment for record in records])
    base = fhir_base(request)
    return FhirResponse(
        search_bundle(
            [appointment_resource(record) for record in records],
            base=base,
            self_url=f"{base}/Appointment?{urlencode(criteria.applied)}",
            next_url=f"{base}/Appointment?{urlencode(criteria.next_page(next_cursor))}" if next_cursor else None,
        )
    )


@router.post("/Appointment")
async def create_appointment(
    body: FhirAppointment, request: Request, uow: Uow, access: CreatesAppointments
) -> Response:
    """Request an appointment: the token's patient asks one practitioner, room or device for a time."""
    asked = body.to_request()
    if asked.patient != access.principal.subject:
        raise Forbidden("a request is made by the patient themselves: the Patient participant is the token's subject")
    try:
        booked = await fhir_queries.resource(uow, asked.resource_id)
    except NotFound as error:
        raise Unprocessable(
            f"{asked.resource_type}/{asked.resource_id} is not a bookable resource here", code="not-found"
        ) from error
    if RESOURCE_TYPES.get(booked.kind) != asked.resource_type:
        raise Unprocessable(
            f"{asked.resource_type}/{asked.resource_id} is a {RESOURCE_TYPES.get(booked.kind, 'Device')}",
            expression="Appointment.participant",
        )
    appointment = await service.request_appointment(
        uow=uow,
        by=access.principal,
        resource_id=asked.resource_id,
        appointment_type=asked.appointment_type,
        starts_at=asked.starts_at,
        ends_at=asked.ends_at,
        message=asked.message,
        answers=asked.answers,
    )
    created = appointment_resource(await fhir_queries.load(uow, appointment.id))
    location = f"{fhir_base(request)}/Appointment/{appointment.id}/_history/{appointment.version}"
    return _resource_response(created, status=201, location=location)


@router.post("/AppointmentResponse")
async def create_appointment_response(
    body: FhirAppointmentResponse, request: Request, uow: Uow, access: CreatesResponses
) -> Response:
    """Approve (accepted) or decline (declined, with a reason code) a pending request."""
    decision = body.to_decision()
    try:
        if not access.contexts & {Context.USER, Context.SYSTEM}:
            await _visible(uow, access, decision.appointment_id)  # a patient/ scope: only the patient's own
        if decision.approve:
            appointment = await service.approve(uow=uow, by=access.principal, appointment_id=decision.appointment_id)
        else:
            assert decision.reason_code is not None
            appointment = await service.decline(
                uow=uow,
                by=access.principal,
                appointment_id=decision.appointment_id,
                reason_code=decision.reason_code,
                reason=decision.reason,
            )
    except NotFound as error:
        raise Unprocessable(
            f"Appointment/{decision.appointment_id} is not an appointment you can answer",
            expression="AppointmentResponse.appointment",
            code="not-found",
        ) from error
    answered = appointment_response_resource(await fhir_queries.load(uow, appointment.id), appointment.version)
    assert answered is not None
    return _resource_response(
        answered, status=201, location=f"{fhir_base(request)}/AppointmentResponse/{answered['id']}"
    )


@router.get("/AppointmentResponse/{response_id}")
async def read_appointment_response(response_id: str, request: Request, uow: Uow, access: ReadsResponses) -> Response:
    """One decision on an appointment, to whoever may see the appointment."""
    parsed = parse_response_id(response_id)
    if parsed is None:
        raise NotFound(f"AppointmentResponse/{response_id}")
    appointment_id, sequence = parsed
    answered = appointment_response_resource(await _visible(uow, access, appointment_id), sequence)
    if answered is None:
        raise NotFound(f"AppointmentResponse/{response_id}")
    return _resource_response(answered)


@router.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
async def unsupported(request: Request) -> Response:
    """Anything else under /fhir/R4: an interaction (405) or a resource type (404) this server does not offer."""
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    allowed = sorted(
        {
            method
            # This router's routes and those of the other FHIR routers the app mounts (Schedule, Slot).
            for fhir_router in getattr(request.app.state, "fhir_routers", [router])
            for route in fhir_router.routes
            if isinstance(route, APIRoute) and route.name != "unsupported" and route.path_regex.fullmatch(path)
            for method in route.methods or ()
        }
    )
    if allowed:
        raise UnsupportedInteraction(f"{request.method} is not supported here", allowed=allowed)
    raise StarletteHTTPException(404, f"{path.removeprefix(PREFIX)} is not a resource type or operation of this server")


# --- helpers --------------------------------------------------------------------------------------------------


async def _visible(uow: AppointmentsUnitOfWork, access: Access, appointment_id: UUID) -> AppointmentRecord:
    """The appointment, if the contexts the scopes grant reach it; else NotFound (no existence leak)."""
    if Context.SYSTEM in access.contexts:
        record = await fhir_queries.load(uow, appointment_id)
        await commit_reads(uow, access.principal, [record.appointment])
        return record
    if Context.USER in access.contexts:  # audited by the read itself
        appointment, history = await service.read(uow=uow, by=access.principal, appointment_id=appointment_id)
        return await fhir_queries.describe(uow, appointment, history)
    record = await fhir_queries.load(uow, appointment_id)
    if record.appointment.patient != access.principal.subject:
        raise NotFound(f"appointment {appointment_id}")
    await commit_reads(uow, access.principal, [record.appointment])  # the patient's own, audited too
    return record


def _appointment_id(text: str) -> UUID:
    found = as_uuid(text)
    if found is None:
        raise NotFound(f"Appointment/{text}")
    return found


def _prefers_strict(request: Request) -> bool:
    # RFC 7240 Prefer; FHIR R4 search §3.1.1.1: "handling=strict" makes unknown parameters an error.
    preferences = {
        part.strip() for value in request.headers.getlist("prefer") for part in value.replace(";", ",").split(",")
    }
    return "handling=strict" in preferences


def fhir_base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{PREFIX}"


def _resource_response(body: dict[str, Any], *, status: int = 200, location: str | None = None) -> Response:
    meta = body["meta"]
    headers = {
        "ETag": f'W/"{meta["versionId"]}"',
        "Last-Modified": format_datetime(datetime.fromisoformat(meta["lastUpdated"]), usegmt=True),
    }
    if location is not None:
        headers["Location"] = location
    return FhirResponse(body, status_code=status, headers=headers)


def outcome_response(request: Request, error: Exception, *, resource_type: str) -> Response:
    """Any error of a FHIR route as an OperationOutcome with its HTTP status."""
    headers: dict[str, str] = {}
    match error:
        case InsufficientScope():
            status, issues = 403, [Issue("forbidden", str(error))]
            headers["WWW-Authenticate"] = f'{BEARER_CHALLENGE}, error="insufficient_scope", scope="{error.scope}"'
        case UnsupportedInteraction():
            status, issues = 405, [Issue("not-supported", str(error))]
            headers["Allow"] = ", ".join(error.allowed)
        case ProblemError():  # authentication (401), a forged cursor (400), unavailable token keys (503)
            status, issues = error.status, [Issue(_issue_type(error.status), error.detail or error.title)]
            headers.update(error.headers)
        case RequestValidationError():
            status, issues = 400, [_validation_issue(item, resource_type) for item in error.errors()]
        case SearchError():
            status, issues = 400, [Issue(error.code, str(error))]
        case InvalidResource():
            status, issues = 400, [Issue(error.code, str(error), expression=error.expression)]
        case Unprocessable():
            status, issues = 422, [Issue(error.code, str(error), expression=error.expression)]
        case AnswersRejected():
            extension = f"{resource_type}.extension('{ANSWERS_EXTENSION}')"
            status = 422
            issues = [
                Issue("invariant", f"{item['field'] or 'form'}: {item['message']}", expression=extension)
                for item in error.errors
            ]
        case StarletteHTTPException():
            status, issues = error.status_code, [Issue(_issue_type(error.status_code), str(error.detail))]
        case _ if (refusal := _refusal(error)) is not None:
            status, issue_type = refusal
            issues = [Issue(issue_type, str(error) or issue_type)]
        case _:
            # The stack trace goes to the log, never to the client.
            log.error("fhir.unhandled_exception", path=request.url.path, exc_info=error)
            status = 500
            issues = [
                Issue("exception", "The request could not be completed; quote the correlation id when reporting it.")
            ]
    return FhirResponse(operation_outcome(*issues), status_code=status, headers=headers)


def _refusal(error: Exception) -> tuple[int, str] | None:
    for cls in type(error).__mro__:
        if cls in REFUSALS:
            return REFUSALS[cls]
    return None


def _issue_type(status: int) -> str:
    if status == 503:
        return "transient"
    return ISSUE_TYPES_BY_STATUS.get(status, "processing")


def _validation_issue(item: Any, resource_type: str) -> Issue:
    location = [str(part) for part in item.get("loc", ())]
    kind = item.get("type", "")
    code = {"missing": "required", "extra_forbidden": "structure", "json_invalid": "structure"}.get(kind, "value")
    expression = None
    if location[:1] == ["body"] and len(location) > 1 and kind != "json_invalid":
        path = resource_type
        for part in location[1:]:
            path += f"[{part}]" if part.isdigit() else f".{part}"
        expression = path
    where = expression or " ".join(location[1:]) or "request"
    return Issue(code, f"{where}: {item.get('msg', 'not valid')}", expression=expression)
