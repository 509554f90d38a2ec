"""Composite views (``domain/aggregation.py`` declares them): one answer read from several services through
the route table, with the caller's token, so each service authorises the caller itself. A part that a
service could not give in time is ``{"unavailable": true, "problem": {…}}`` and named in
``unavailable_parts``; the required part's failure is the view's."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kairos.gateway.domain.aggregation import APPOINTMENT_VIEW, Composite, MissingValue, Part, fill, picked
from kairos.platform.auth import CurrentPrincipal
from kairos.platform.http.problems import PROBLEM_JSON, TYPE_PREFIX

log = structlog.get_logger(__name__)

router = APIRouter(tags=["views"])
FORWARDED = ("authorization", "accept-language")


class PartFailed(Exception):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("title", "failed"))
        self.status = status
        self.problem = problem


@router.get("/api/v1/views/appointments/{appointment_id}")
async def appointment_view(appointment_id: UUID, request: Request, me: CurrentPrincipal) -> JSONResponse:
    """An appointment with its professional, schedule, conversation and documents, in one answer."""
    # Signed in to ask at all (``me``); what the caller may see of each part, each service decides (and
    # audits) with the forwarded token.
    return await compose(APPOINTMENT_VIEW, str(appointment_id), request)


async def compose(composite: Composite, view_id: str, request: Request) -> JSONResponse:
    client: httpx.AsyncClient = request.app.state.gateway.internal_client
    timeout: float = request.app.state.gateway.settings.gateway_view_part_timeout
    headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
    read: dict[str, Any] = {}
    unavailable: dict[str, dict[str, Any]] = {}
    for stage in composite.stages():
        outcomes = await asyncio.gather(
            *(_read_part(client, part, view_id, read, headers, timeout) for part in stage), return_exceptions=True
        )
        for part, outcome in zip(stage, outcomes, strict=True):
            if isinstance(outcome, PartFailed):
                if part.required:
                    return JSONResponse(outcome.problem, status_code=outcome.status, media_type=PROBLEM_JSON)
                unavailable[part.name] = outcome.problem
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                read[part.name] = outcome
    if unavailable:
        log.info("gateway.view_incomplete", view=composite.name, unavailable=sorted(unavailable))
    body: dict[str, Any] = {
        part.name: read[part.name] if part.name in read else {"unavailable": True, "problem": unavailable[part.name]}
        for part in composite.parts
    }
    body["unavailable_parts"] = sorted(unavailable)
    # Personal data, read with the caller's own rights: never kept by any cache.
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def _read_part(
    client: httpx.AsyncClient,
    part: Part,
    view_id: str,
    read: dict[str, Any],
    headers: dict[str, str],
    part_timeout: float,
) -> Any:
    try:
        path = fill(part.path, view_id=view_id, parts=read)
        wanted = fill(part.pick.equals, view_id=view_id, parts=read) if part.pick else None
    except MissingValue as missing:
        raise PartFailed(424, _problem(424, "part-dependency-failed", "Failed Dependency", str(missing))) from None
    try:
        async with asyncio.timeout(part_timeout):
            response = await client.get(path, headers=headers)
    except TimeoutError:
        detail = f"no answer within {part_timeout:g} s"
        raise PartFailed(504, _problem(504, "upstream-timeout", "Gateway Timeout", detail)) from None
    if response.status_code != 200:
        raise PartFailed(response.status_code, _problem_of(response))
    try:
        answer = response.json()
    except ValueError:
        raise PartFailed(502, _problem(502, "upstream-invalid", "Bad Gateway", "the answer is not JSON")) from None
    if part.pick is None:
        return answer
    assert wanted is not None
    try:
        return picked(answer, part.pick, wanted)
    except MissingValue as missing:
        raise PartFailed(404, _problem(404, "not-found", "Not Found", str(missing))) from None


def _problem_of(response: httpx.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if isinstance(problem, dict):
            return problem
    return _problem(response.status_code, "upstream-error", response.reason_phrase or "Error", None)


def _problem(status: int, slug: str, title: str, detail: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": f"{TYPE_PREFIX}{slug}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return body
