"""The gateway serves the built web app: files as they are, every other page path as the app itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from kairos.gateway.app import WebApp

INDEX = "<!doctype html><title>Kairos</title><div id=root></div>"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "app.js").write_text("console.log('kairos')")
    (tmp_path / "robots.txt").write_text("User-agent: *")
    app = FastAPI()

    @app.get("/routes")
    async def routes() -> dict[str, list[str]]:
        return {"services": []}

    app.mount("/", WebApp(tmp_path), name="web")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        yield client


@pytest.mark.parametrize("path", ["/", "/auth/callback?code=abc&state=xyz", "/appointments/0192f000-0000-7000"])
async def test_a_page_path_gets_the_app(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"  # a new build is picked up at once


async def test_files_are_served_as_they_are(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/app.js")
    assert response.status_code == 200
    assert response.text == "console.log('kairos')"


async def test_the_index_asked_by_name_is_checked_again_each_time_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/index.html")
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"

    again = await client.get("/index.html", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304, "checking again costs no body while the build is the same"


async def test_hashed_assets_are_kept_for_good_and_other_files_checked_again(client: httpx.AsyncClient) -> None:
    asset = await client.get("/assets/app.js")
    other = await client.get("/robots.txt")

    # A new build names its assets anew, so a kept copy is never stale (RFC 8246 immutable).
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert other.status_code == 200
    assert other.headers["cache-control"] == "no-cache", "not hashed: a new build may change it under its name"


@pytest.mark.parametrize("path", ["/assets/missing.js", "/favicon.ico", "/api/v1/nowhere/things"])
async def test_a_missing_file_or_api_path_stays_not_found(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_the_gateways_own_routes_come_first(client: httpx.AsyncClient) -> None:
    assert (await client.get("/routes")).json() == {"services": []}


async def test_a_page_path_is_read_only(client: httpx.AsyncClient) -> None:
    assert (await client.post("/auth/callback")).status_code == 405
