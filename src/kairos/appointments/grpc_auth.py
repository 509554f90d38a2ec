"""Who calls the gRPC interface: the bearer token in the call's metadata, verified exactly like HTTP's.

Every method needs ``authorization: Bearer <access token>`` (a missing, malformed, forged or expired token is
``UNAUTHENTICATED``); only the standard health service answers without one, for probes. What a caller may
then do is decided by the same use cases as REST (``service``, ``holds``), with one addition for internal
services: a client-credentials token with the ``system/appointments.holds`` scope may place and release
holds *for a patient it names*, the hold belonging to that patient as if they had placed it themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc
import structlog

from kairos.platform.auth import Principal, TokenVerifier
from kairos.platform.auth.tokens import InvalidToken, JwksUnavailable

log = structlog.get_logger(__name__)

# Internal services holding slots for the patient they serve (the assistant's booking saga).
HOLDS_FOR_PATIENTS_SCOPE = "system/appointments.holds"
# Probes call the health service without a token, as Kubernetes' grpc probe does.
UNAUTHENTICATED_PREFIXES = ("/grpc.health.v1.Health/",)

_caller: ContextVar[Principal] = ContextVar("kairos_grpc_caller")


class NotAllowedFor(Exception):
    """The caller may not act for the patient it names."""


def caller() -> Principal:
    """The verified caller of the gRPC call being served (set by ``BearerTokenInterceptor``)."""
    return _caller.get()


def acting_for(principal: Principal, patient: str) -> Principal:
    """Whom a hold is placed or released for: the caller itself, or the patient a trusted service names."""
    if not patient or patient == principal.subject:
        return principal
    if not principal.has_scope(HOLDS_FOR_PATIENTS_SCOPE):
        raise NotAllowedFor(f"only a service with the {HOLDS_FOR_PATIENTS_SCOPE} scope acts for a patient")
    log.info("appointments.grpc_acting_for_patient", client_id=principal.client_id)
    return Principal(
        subject=patient,
        client_id=principal.client_id,
        permissions=frozenset({"appointments:request"}),
        scopes=principal.scopes,
    )


def bearer_token(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else ""
    return None


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Verifies the caller's token before any unary method runs, and makes the caller known to it."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(UNAUTHENTICATED_PREFIXES):
            return handler
        if handler.unary_unary is None:  # every Kairos method is unary; anything else is refused, not left open
            return grpc.unary_unary_rpc_method_handler(_refuse_streaming)
        verifier, behaviour = self._verifier, handler.unary_unary

        async def authenticated(request: Any, context: grpc.aio.ServicerContext) -> Any:
            token = bearer_token(context.invocation_metadata())
            if not token:
                await context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "a Bearer access token is required" if token is None else "authorization must be a Bearer token",
                )
            try:
                principal = await verifier.verify(token)
            except InvalidToken as error:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(error))
            except JwksUnavailable:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "token keys are unavailable")
            reset = _caller.set(principal)
            try:
                return await behaviour(request, context)
            finally:
                _caller.reset(reset)

        return grpc.unary_unary_rpc_method_handler(
            authenticated,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def _refuse_streaming(request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "streaming methods are not served")
