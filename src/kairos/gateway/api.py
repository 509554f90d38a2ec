"""The gateway's own pages: a landing page until the web app is built, and the route list."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["gateway"])
landing = APIRouter(include_in_schema=False)


@router.get("/routes")
async def list_routes(request: Request) -> dict[str, list[str]]:
    """The services this gateway routes to."""
    return {"services": request.app.state.routes.services()}


@landing.get("/", response_class=HTMLResponse)
async def landing_page(request: Request) -> str:
    services = request.app.state.routes.services()
    links = "".join(
        f'<li><a href="/api/v1/{escape(name)}/docs">{escape(name)}</a></li>' for name in ["gateway", *services]
    )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Kairos</title>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<body style='font-family:system-ui;max-width:40rem;margin:3rem auto;line-height:1.5'>"
        "<h1>Kairos</h1><p>The platform is running. API reference of each service:</p>"
        f"<ul>{links}</ul></body></html>"
    )
