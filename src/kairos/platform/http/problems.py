"""RFC 9457 problem details: every error a service returns, in one shape with a stable ``type``.

Domain code raises its own exceptions; ``register`` maps each class to a problem once, here or in the
service's ``app.py``, and routes never build error responses by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kairos.platform.observability.context import current_correlation_id

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:kairos:problem:"


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response's body."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", examples=[f"{TYPE_PREFIX}validation"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    correlation_id: str | None = None


class ProblemError(Exception):
    """Raise to answer with a problem; ``extensions`` become extra members of the body."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.type = f"{TYPE_PREFIX}{slug}"
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


@dataclass(frozen=True)
class _Mapping:
    status: int
    slug: str
    title: str


_registry: dict[type[Exception], _Mapping] = {}


def register(exception: type[Exception], *, status: int, slug: str, title: str) -> None:
    """Answer every ``exception`` raised by a route with this problem; its message becomes the detail."""
    _registry[exception] = _Mapping(status, slug, title)


def problem_response(
    *,
    status: int,
    type_: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    correlation_id = current_correlation_id()
    if correlation_id:
        body["correlation_id"] = correlation_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def _lookup(exception: Exception) -> _Mapping | None:
    for cls in type(exception).__mro__:
        found = _registry.get(cls)
        if found is not None:
            return found
    return None


def problem_body(error: Exception, *, instance: str | None = None) -> dict[str, Any] | None:
    """The problem a route would answer ``error`` with, as a body to report inside a larger response (one
    outcome of a batch); None for an exception no problem is registered for."""
    if isinstance(error, ProblemError):
        body: dict[str, Any] = {"type": error.type, "title": error.title, "status": error.status}
        detail, extensions = error.detail, error.extensions
    else:
        mapped = _lookup(error)
        if mapped is None:
            return None
        body = {"type": f"{TYPE_PREFIX}{mapped.slug}", "title": mapped.title, "status": mapped.status}
        detail, extensions = str(error) or None, getattr(error, "problem_extensions", None) or {}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return body


async def _problem_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)
    return problem_response(
        status=error.status,
        type_=error.type,
        title=error.title,
        detail=error.detail,
        instance=request.url.path,
        headers=error.headers,
        **error.extensions,
    )


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"location": list(item.get("loc", ())), "message": item.get("msg", ""), "type": item.get("type", "")}
        for item in error.errors()
    ]
    return problem_response(
        status=422,
        type_=f"{TYPE_PREFIX}validation",
        title="The request is not valid",
        detail=f"{len(errors)} field(s) failed validation",
        instance=request.url.path,
        errors=errors,
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthenticated", 403: "forbidden"}.get(
        status, f"http-{status}"
    )
    detail = error.detail if isinstance(error.detail, str) and error.detail != HTTPStatus(status).phrase else None
    return problem_response(
        status=status,
        type_=f"{TYPE_PREFIX}{slug}",
        title=HTTPStatus(status).phrase,
        detail=detail,
        instance=request.url.path,
        headers=getattr(error, "headers", None),
    )


async def _mapped(request: Request, error: Exception) -> JSONResponse:
    mapped = _lookup(error)
    if mapped is None:
        return await _unexpected(request, error)
    # An exception may add members of its own (``problem_extensions``), e.g. a list of field errors.
    extensions = getattr(error, "problem_extensions", None) or {}
    return problem_response(
        status=mapped.status,
        type_=f"{TYPE_PREFIX}{mapped.slug}",
        title=mapped.title,
        detail=str(error) or None,
        instance=request.url.path,
        **extensions,
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    # The stack trace goes to the log, never to the client.
    log.error("http.unhandled_exception", path=request.url.path, exc_info=error)
    return internal_error_response(request.url.path)


def internal_error_response(instance: str | None = None) -> JSONResponse:
    return problem_response(
        status=500,
        type_=f"{TYPE_PREFIX}internal",
        title="Internal Server Error",
        detail="The request could not be completed; quote the correlation id when reporting it.",
        instance=instance,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for exception in _registry:
        app.add_exception_handler(exception, _mapped)
    app.add_exception_handler(Exception, _unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "A problem with the request"},
    "5XX": {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "A problem on the server"},
}
