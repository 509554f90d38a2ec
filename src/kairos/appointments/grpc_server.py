"""The gRPC interface of slot search and holds (``kairos.appointments.v1.Slots``), for internal callers.

It translates only: protobuf in, the same use cases as the REST routes (``service``, ``directory``,
``holds``), protobuf out, and the use cases' exceptions mapped to gRPC status codes (``STATUS_OF``). Started
and stopped with the service (``app.py``), in both shapes, beside the standard health service.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import grpc
import structlog
from google.protobuf import any_pb2
from google.rpc import status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from kairos.appointments import directory, holds, service
from kairos.appointments.domain.availability import InvalidAvailability
from kairos.appointments.domain.configuration import UnknownAppointmentType
from kairos.appointments.domain.slots import Slot
from kairos.appointments.grpc_auth import BearerTokenInterceptor, NotAllowedFor, acting_for, caller
from kairos.appointments.holds import TooManyHolds
from kairos.appointments.repository import AppointmentsUnitOfWork, ConcurrentChange, NotFound, TimeTaken
from kairos.appointments.seats import SeatRefused
from kairos.appointments.service import Forbidden, MissingEnd, NoSchedule, NotOffered
from kairos.appointments.settings import AppointmentsSettings
from kairos.contracts.proto.appointments.v1 import slots_pb2, slots_pb2_grpc
from kairos.platform.auth import TokenVerifier

log = structlog.get_logger(__name__)

SERVICE_NAME = slots_pb2.DESCRIPTOR.services_by_name["Slots"].full_name
# The gRPC port follows the HTTP ports' plan: base port + 100 + the service's place (appointments: 8102).
GRPC_PORT_OFFSET = 100
APPOINTMENTS_PLACE = 2

# How each use case's refusal reads to a gRPC caller (the REST problem types' counterparts).
STATUS_OF: dict[type[Exception], grpc.StatusCode] = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    NoSchedule: grpc.StatusCode.NOT_FOUND,
    Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    NotAllowedFor: grpc.StatusCode.PERMISSION_DENIED,
    UnknownAppointmentType: grpc.StatusCode.INVALID_ARGUMENT,
    InvalidAvailability: grpc.StatusCode.INVALID_ARGUMENT,  # InvalidSlotQuery, unknown zones, bad times
    MissingEnd: grpc.StatusCode.INVALID_ARGUMENT,
    NotOffered: grpc.StatusCode.FAILED_PRECONDITION,
    TooManyHolds: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ConcurrentChange: grpc.StatusCode.ABORTED,
}


class InvalidArgument(Exception):
    """A field of the request is missing or malformed."""


STATUS_OF[InvalidArgument] = grpc.StatusCode.INVALID_ARGUMENT

Request = TypeVar("Request")
Response = TypeVar("Response")
Method = Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]]


def translating_errors(method: Method[Request, Response]) -> Method[Request, Response]:
    @functools.wraps(method)
    async def answer(self: Any, request: Request, context: grpc.aio.ServicerContext) -> Response:
        try:
            return await method(self, request, context)
        except tuple(STATUS_OF) as refused:
            code = next(code for kind, code in STATUS_OF.items() if isinstance(refused, kind))
            await context.abort(code, str(refused) or type(refused).__name__)
            raise  # abort raises; this line only tells type checkers so

    return answer


class SlotsServicer(slots_pb2_grpc.SlotsServicer):  # type: ignore[misc]
    def __init__(self, unit_of_work: Callable[[], AppointmentsUnitOfWork]) -> None:
        self._uow = unit_of_work

    @translating_errors
    async def FindFreeSlots(  # noqa: N802 (the generated base class names the methods)
        self, request: slots_pb2.FindFreeSlotsRequest, context: grpc.aio.ServicerContext
    ) -> slots_pb2.FindFreeSlotsResponse:
        window_start, window_end = _instant(request, "window_start"), _instant(request, "window_end")
        zone = request.zone or "UTC"
        if not request.appointment_type:
            raise InvalidArgument("appointment_type is required")
        target = request.WhichOneof("target")
        if target == "resource_id":
            slots = await service.find_free_slots(
                uow=self._uow(),
                resource_id=_uuid(request.resource_id, "resource_id"),
                appointment_type=request.appointment_type,
                window_start=window_start,
                window_end=window_end,
                asker_zone=zone,
            )
        elif target == "any_professional":
            wanted = request.any_professional
            query = directory.DirectoryQuery(
                text=wanted.text or None,
                specialty=wanted.specialty or None,
                organisation_id=_uuid(wanted.organisation_id, "organisation_id") if wanted.organisation_id else None,
                language=wanted.language or None,
                domain=wanted.domain or None,
            )
            slots = await directory.any_suitable_slots(
                uow=self._uow(),
                query=query,
                appointment_type=request.appointment_type,
                window_start=window_start,
                window_end=window_end,
                asker_zone=zone,
            )
        else:
            raise InvalidArgument("name a resource_id or any_professional")
        return slots_pb2.FindFreeSlotsResponse(slots=[slot_message(slot) for slot in slots])

    @translating_errors
    async def ExplainTime(  # noqa: N802
        self, request: slots_pb2.ExplainTimeRequest, context: grpc.aio.ServicerContext
    ) -> slots_pb2.ExplainTimeResponse:
        explanation = await service.explain_time(
            uow=self._uow(),
            resource_id=_uuid(request.resource_id, "resource_id"),
            appointment_type=request.appointment_type,
            starts_at=_instant(request, "starts_at"),
        )
        return slots_pb2.ExplainTimeResponse(
            starts_at=_timestamp(explanation.starts_at),
            ends_at=_timestamp(explanation.ends_at),
            bookable=explanation.is_bookable,
            reasons=[reason.value for reason in explanation.reasons],
        )

    @translating_errors
    async def CreateHold(  # noqa: N802
        self, request: slots_pb2.CreateHoldRequest, context: grpc.aio.ServicerContext
    ) -> slots_pb2.Hold:
        resource_id, starts_at = _uuid(request.resource_id, "resource_id"), _instant(request, "starts_at")
        patient = acting_for(caller(), request.patient)
        try:
            placed = await holds.place_hold(
                uow=self._uow(),
                by=patient,
                resource_id=resource_id,
                appointment_type=request.appointment_type,
                starts_at=starts_at,
            )
        except (TimeTaken, SeatRefused) as taken:
            nearest = await service.nearest_free_slots(
                uow=self._uow(), resource_id=resource_id, appointment_type=request.appointment_type, around=starts_at
            )
            await abort_time_taken(context, str(taken), nearest)
            raise
        return slots_pb2.Hold(
            id=str(placed.id),
            resource_id=str(placed.resource_id),
            patient=placed.holder,
            appointment_type=placed.appointment_type,
            starts_at=_timestamp(placed.period.starts_at),
            ends_at=_timestamp(placed.period.ends_at),
            expires_at=_timestamp(placed.expires_at),
        )

    @translating_errors
    async def ReleaseHold(  # noqa: N802
        self, request: slots_pb2.ReleaseHoldRequest, context: grpc.aio.ServicerContext
    ) -> slots_pb2.ReleaseHoldResponse:
        patient = acting_for(caller(), request.patient)
        await holds.release_hold(uow=self._uow(), by=patient, hold_id=_uuid(request.hold_id, "hold_id"))
        return slots_pb2.ReleaseHoldResponse()


async def abort_time_taken(context: grpc.aio.ServicerContext, message: str, nearest: list[Slot]) -> None:
    """ABORTED, with the nearest free slots as a ``TimeTaken`` detail (google.rpc.Status, AIP-193)."""
    detail = any_pb2.Any()
    detail.Pack(slots_pb2.TimeTaken(nearest_slots=[slot_message(slot) for slot in nearest]))
    status = rpc_status.to_status(
        status_pb2.Status(code=grpc.StatusCode.ABORTED.value[0], message=f"time taken: {message}", details=[detail])
    )
    await context.abort(status.code, status.details, status.trailing_metadata)


def slot_message(slot: Slot) -> slots_pb2.Slot:
    return slots_pb2.Slot(
        starts_at=_timestamp(slot.starts_at),
        ends_at=_timestamp(slot.ends_at),
        resource_id=str(slot.resource_id),
        seats_left=slot.seats_left,
        local_starts_at=slot.local_starts_at.isoformat(),
        local_ends_at=slot.local_ends_at.isoformat(),
    )


def _timestamp(instant: datetime) -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp

    stamp = Timestamp()
    stamp.FromDatetime(instant.astimezone(UTC))
    return stamp


def _instant(request: Any, field: str) -> datetime:
    if not request.HasField(field):
        raise InvalidArgument(f"{field} is required")
    stamp = getattr(request, field)
    try:
        return stamp.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
    except (ValueError, OverflowError) as invalid:
        raise InvalidArgument(f"{field} is not a valid time") from invalid


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as invalid:
        raise InvalidArgument(f"{field} must be a UUID") from invalid


@dataclass
class RunningGrpc:
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer


def grpc_port(settings: AppointmentsSettings, base_port: int) -> int:
    """The configured port; unset: the base port + 102; 0 means no gRPC server."""
    if settings.grpc_port is not None:
        return settings.grpc_port
    return base_port + GRPC_PORT_OFFSET + APPOINTMENTS_PLACE


async def start_grpc(
    *,
    host: str,
    port: int,
    verifier: TokenVerifier,
    unit_of_work: Callable[[], AppointmentsUnitOfWork],
) -> RunningGrpc:
    server = grpc.aio.server(interceptors=[BearerTokenInterceptor(verifier)])
    slots_pb2_grpc.add_SlotsServicer_to_server(SlotsServicer(unit_of_work), server)
    checker = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    bound = server.add_insecure_port(f"{host}:{port}")  # TLS and mTLS are the mesh's (ARCHITECTURE)
    if bound == 0:
        raise OSError(f"the gRPC server could not bind {host}:{port}")
    await server.start()
    for name in ("", SERVICE_NAME):
        await checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("appointments.grpc_started", port=bound)
    return RunningGrpc(server=server, port=bound, health=checker)


async def stop_grpc(running: RunningGrpc, *, grace: float) -> None:
    await running.health.enter_graceful_shutdown()
    await running.server.stop(grace)
