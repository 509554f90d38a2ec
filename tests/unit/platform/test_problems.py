"""One place maps domain exceptions to RFC 9457 problems; every problem has the same shape."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from kairos.platform.http import problems
from kairos.platform.http.problems import PROBLEM_JSON, ProblemError, problem_response, register
from kairos.platform.observability.context import correlation_id_var


class SlotUnavailable(Exception):
    pass


class SlotAlreadyBooked(SlotUnavailable):
    pass


class SlotInThePast(SlotUnavailable):
    pass


register(SlotUnavailable, status=409, slug="slot-unavailable", title="The slot is not available")
register(SlotInThePast, status=422, slug="slot-in-the-past", title="The slot has already begun")


def request_for(path: str) -> Request:
    return Request({"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""})


def body_of(response: Response) -> dict[str, object]:
    return json.loads(bytes(response.body))  # type: ignore[no-any-return]


async def answer(error: Exception, *, path: str = "/api/v1/appointments") -> Response:
    app = FastAPI()
    problems.install(app)
    # As Starlette does: the handler of the nearest class in the exception's MRO.
    handler = next(app.exception_handlers[cls] for cls in type(error).__mro__ if cls in app.exception_handlers)
    return await handler(request_for(path), error)  # type: ignore[no-any-return]


async def test_a_registered_exception_is_answered_with_its_problem_and_its_message_as_detail() -> None:
    response = await answer(SlotUnavailable("Tuesday 10:00 is taken"))

    assert response.status_code == 409
    assert response.media_type == PROBLEM_JSON
    assert body_of(response) == {
        "type": "urn:kairos:problem:slot-unavailable",
        "title": "The slot is not available",
        "status": 409,
        "detail": "Tuesday 10:00 is taken",
        "instance": "/api/v1/appointments",
    }


async def test_a_subclass_takes_the_problem_of_its_nearest_registered_ancestor() -> None:
    response = await answer(SlotAlreadyBooked("booked"))

    assert response.status_code == 409
    assert body_of(response)["type"] == "urn:kairos:problem:slot-unavailable"


async def test_a_subclass_registered_on_its_own_keeps_its_own_problem() -> None:
    response = await answer(SlotInThePast("began at 09:00"))

    assert response.status_code == 422
    assert body_of(response)["type"] == "urn:kairos:problem:slot-in-the-past"


async def test_an_unregistered_exception_is_an_internal_error_that_reveals_nothing() -> None:
    response = await answer(RuntimeError("password=hunter2 in /srv/kairos/secrets"))

    assert response.status_code == 500
    assert response.media_type == PROBLEM_JSON
    body = body_of(response)
    assert body["type"] == "urn:kairos:problem:internal"
    assert "hunter2" not in json.dumps(body)


async def test_a_raised_problem_error_keeps_its_headers_and_extensions() -> None:
    error = ProblemError(
        429, "rate-limited", "Too Many Requests", "Slow down", headers={"Retry-After": "30"}, retry_after=30
    )

    response = await answer(error)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert body_of(response) == {
        "type": "urn:kairos:problem:rate-limited",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Slow down",
        "instance": "/api/v1/appointments",
        "retry_after": 30,
    }


def test_a_problem_names_the_correlation_id_of_the_request_it_answers() -> None:
    token = correlation_id_var.set("req-42")
    try:
        response = problem_response(status=404, type_="urn:kairos:problem:not-found", title="Not Found")
    finally:
        correlation_id_var.reset(token)

    assert body_of(response) == {
        "type": "urn:kairos:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "correlation_id": "req-42",
    }


@pytest.mark.parametrize("detail", [None, ""])
def test_a_problem_without_detail_leaves_the_member_out(detail: str | None) -> None:
    response = problem_response(status=400, type_="urn:kairos:problem:bad", title="Bad Request", detail=detail)

    assert "detail" not in body_of(response)
