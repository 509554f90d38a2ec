"""``notebook``: a throw-away service built from platform parts alone, to prove the HTTP and auth mechanisms.

It writes notes to its own fresh database. Its routes cover what the platform must handle: a creating
POST (201 with a side effect, for Idempotency-Key), a page-by-page list, a domain refusal mapped to a
problem, an unexpected failure, and routes guarded by a token and by ``require``. ``Controls`` let a test
close a topic, make the next note of a topic fail, or hold a note mid-request until the test releases it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, Column, DateTime, Identity, MetaData, String, Table, Text, func, insert, select
from sqlalchemy.engine import URL, make_url

from kairos.platform.auth import CurrentPrincipal, OptionalPrincipal, require
from kairos.platform.auth.tokens import JwksCache, TokenVerifier
from kairos.platform.config import Settings, TransportKind
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.http.pagination import Page, PageRequest, keyset, page_of, page_request
from kairos.platform.http.problems import register
from kairos.platform.runtime import ServiceDefinition, ServiceRuntime, unit_of_work
from kairos.platform.serve import serve
from kairos.platform.testing.infrastructure import unique_name
from kairos.platform.testing.issuer import TestIssuer
from tests.conftest import POSTGRES_URL

NAME = "notebook"
API = f"/api/v1/{NAME}"
MAX_REQUEST_BYTES = 1024
# What an unexpected failure says internally; it must never reach a client.
INTERNAL_FAILURE = "disk /srv/kairos/notes is full (secret=hunter2)"
ARCHIVE_REQUIREMENTS = {"permissions": ["notes:archive"], "roles": ["editor", "owner"], "scopes": ["notes.read"]}

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("topic", String(100), nullable=False),
    Column("text", Text, nullable=False),
    Column("author", String(200)),
    Column("written_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


class TopicClosed(Exception):
    """The topic takes no more notes."""


class NoteCreate(BaseModel):
    topic: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=2000)


class NoteRead(BaseModel):
    id: int
    topic: str
    text: str
    author: str | None
    written_at: datetime


class PrincipalRead(BaseModel):
    subject: str
    client_id: str | None
    organisation_id: str | None
    roles: list[str]
    permissions: list[str]
    scopes: list[str]


@dataclass
class Hold:
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Controls:
    closed_topics: set[str] = field(default_factory=set)
    failing_once: set[str] = field(default_factory=set)
    held: dict[str, Hold] = field(default_factory=dict)

    def hold(self, topic: str) -> Hold:
        self.held[topic] = Hold()
        return self.held[topic]


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]


def notebook_router(controls: Controls) -> APIRouter:
    router = APIRouter()

    @router.post("/notes", status_code=201)
    async def write_note(body: NoteCreate, response: Response, uow: Uow, me: OptionalPrincipal) -> NoteRead:
        """Write a note in a topic."""
        if body.topic in controls.closed_topics:
            raise TopicClosed(f"The topic {body.topic} takes no more notes")
        hold = controls.held.get(body.topic)
        if hold is not None:
            hold.entered.set()
            await hold.release.wait()
        if body.topic in controls.failing_once:
            controls.failing_once.discard(body.topic)
            raise RuntimeError(INTERNAL_FAILURE)
        async with uow:
            written = await uow.session.execute(
                insert(notes)
                .values(topic=body.topic, text=body.text, author=me.subject if me else None)
                .returning(*notes.c)
            )
            note = NoteRead.model_validate(dict(written.mappings().one()))
            await uow.commit()
        response.headers["Location"] = f"{API}/notes/{note.id}"
        return note

    @router.get("/notes")
    async def list_notes(topic: str, page: Annotated[PageRequest, Depends(page_request)], uow: Uow) -> Page[NoteRead]:
        """The notes of a topic, oldest first, a page at a time."""
        async with uow:
            statement = keyset(select(notes).where(notes.c.topic == topic), [notes.c.written_at, notes.c.id], page)
            rows = (await uow.session.execute(statement)).mappings().all()
        items, next_cursor = page_of(rows, page, key=lambda row: (row["written_at"], row["id"]))
        return Page[NoteRead](items=[NoteRead.model_validate(dict(row)) for row in items], next_cursor=next_cursor)

    @router.get("/me")
    async def who_am_i(me: CurrentPrincipal) -> PrincipalRead:
        """The verified caller."""
        return PrincipalRead(
            subject=me.subject,
            client_id=me.client_id,
            organisation_id=me.organisation_id,
            roles=sorted(me.roles),
            permissions=sorted(me.permissions),
            scopes=sorted(me.scopes),
        )

    @router.get("/archive", dependencies=[Depends(require(**ARCHIVE_REQUIREMENTS))])
    async def open_archive() -> dict[str, str]:
        """The archive, for editors and owners allowed to archive."""
        return {"archive": "open"}

    return router


def notebook_definition(controls: Controls) -> ServiceDefinition:
    register(TopicClosed, status=409, slug="topic-closed", title="The topic is closed")
    return ServiceDefinition(
        name=NAME, title="Notebook", description="A test service.", routers=[notebook_router(controls)]
    )


def notebook_settings(base_settings: Settings) -> Settings:
    return base_settings.model_copy(
        update={"transport": TransportKind.IN_PROCESS, "max_request_bytes": MAX_REQUEST_BYTES}
    )


def fresh_database_url(database_prefix: str) -> URL:
    return make_url(POSTGRES_URL).set(
        drivername="postgresql+asyncpg", database=f"{database_prefix}{unique_name(NAME + '_')}"
    )


@dataclass
class Notebook:
    runtime: ServiceRuntime
    controls: Controls
    client: httpx.AsyncClient  # speaks to the app in process, through its whole middleware stack

    async def note_count(self, topic: str) -> int:
        async with self.runtime.engine.connect() as connection:
            count = await connection.scalar(select(func.count()).select_from(notes).where(notes.c.topic == topic))
        return int(count or 0)

    async def add_notes(self, rows: list[dict[str, Any]]) -> None:
        async with self.runtime.engine.begin() as connection:
            await connection.execute(insert(notes), rows)


@contextlib.asynccontextmanager
async def running_notebook(
    settings: Settings,
    database_url: URL,
    *,
    issuer: TestIssuer,
    jwks_url: str | None = None,
    min_refresh_interval: float = 10.0,
) -> AsyncIterator[Notebook]:
    """The notebook on its own database (migrated: platform tables, then ``notes``), verifying ``issuer``'s tokens."""
    jwks = JwksCache(jwks_url or issuer.jwks_url, min_refresh_interval=min_refresh_interval)
    verifier = TokenVerifier(issuer=issuer.issuer, audience=issuer.audience, jwks=jwks)
    controls = Controls()
    runtime = ServiceRuntime(
        notebook_definition(controls),
        settings=settings,
        database_url=database_url,
        transport=InProcessTransport(),
        verifier=verifier,
    )
    try:
        await runtime.migrate()
        async with runtime.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        transport = httpx.ASGITransport(app=runtime.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notebook.test") as client:
            yield Notebook(runtime=runtime, controls=controls, client=client)
    finally:
        await runtime.stop()
        await jwks.aclose()


@contextlib.asynccontextmanager
async def served_over_http(notebook: Notebook) -> AsyncIterator[str]:
    """The notebook behind a real uvicorn on a free loopback port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(notebook.runtime.app, host="127.0.0.1", port=port, stop=stop))
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_live(base_url, serving)
        yield base_url
    finally:
        stop.set()
        await serving


async def _wait_until_live(base_url: str, serving: asyncio.Task[None], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url) as client:
        while True:
            if serving.done():
                serving.result()  # the server failed to start: raise its error
            try:
                if (await client.get("/health/live")).status_code == 200:
                    return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.05)
