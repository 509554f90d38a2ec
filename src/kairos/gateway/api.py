"""The gateway's own pages: a landing page until the web app is built, the route list, and the whole API's
reference (the combined OpenAPI document and Swagger UI, served from the ``swagger-ui-bundle-v2`` package:
no CDN)."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

router = APIRouter(tags=["gateway"])
landing = APIRouter(include_in_schema=False)
docs = APIRouter(include_in_schema=False)

DOCS_ASSETS = "/api/docs/assets"
DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kairos API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{DOCS_ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{DOCS_ASSETS}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script src="{DOCS_ASSETS}/swagger-ui-standalone-preset.js"></script>
<script src="/api/docs/initializer.js"></script>
</body>
</html>
"""
# A file, not an inline script: the page works under a Content-Security-Policy without 'unsafe-inline'.
DOCS_INITIALIZER = """window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
"""


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


@docs.get("/api/openapi.json")
async def combined_openapi(request: Request) -> JSONResponse:
    document: dict[str, Any] = await request.app.state.gateway.openapi.document()
    return JSONResponse(document, headers={"Cache-Control": "no-cache"})


@docs.get("/api/docs", response_class=HTMLResponse)
async def combined_docs() -> HTMLResponse:
    return HTMLResponse(DOCS_PAGE, headers={"Cache-Control": "no-cache"})


@docs.get("/api/docs/initializer.js")
async def combined_docs_initializer() -> Response:
    return Response(DOCS_INITIALIZER, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
