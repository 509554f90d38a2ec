"""``Idempotency-Key`` on creating POSTs (IETF draft-ietf-httpapi-idempotency-key-header).

The first request with a key runs and its response is stored; the same key with the same body gets the
stored response again (``Idempotent-Replayed: true``); the same key with another body gets 422; a request
arriving while the first is still running gets 409. Keys are scoped to the verified caller, so one
client can never see another's stored response. 5xx responses are not stored: the client may retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kairos.platform.auth.tokens import InvalidToken, JwksUnavailable, TokenVerifier
from kairos.platform.db.schema import idempotency_records
from kairos.platform.http.asgi import header
from kairos.platform.http.problems import TYPE_PREFIX, problem_response

log = structlog.get_logger(__name__)

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
# A first request still "running" after this long is taken to have died with its process.
STALE_AFTER = timedelta(seconds=60)
_REPLAYED_HEADERS = {"content-type", "location", "etag", "content-language"}


class Cipher(Protocol):
    async def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes: ...

    async def decrypt(self, token: bytes, *, context: bytes) -> bytes: ...


class IdempotencyMiddleware:
    """Stored responses are encrypted at rest with the service's cipher: they may hold personal data or
    secrets shown once (a new client's secret)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        verifier: TokenVerifier | None,
        cipher: Callable[[], Cipher],
    ) -> None:
        self.app = app
        self._sessionmaker = sessionmaker
        self._verifier = verifier
        self._cipher = cipher  # resolved on first use: a service that never stores a response needs no keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, HEADER) if scope["type"] == "http" and scope["method"] == "POST" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            await _problem(
                scope, receive, send, 400, "idempotency-key-invalid", "Idempotency-Key must be 1 to 255 characters"
            )
            return

        body = await _read_body(receive)
        request_hash = hashlib.sha256(
            b"\0".join([scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body])
        ).digest()
        caller = await self._caller(scope)
        # A digest: caller and path together can be longer than the column (a long path would fail the insert).
        scope_key = hashlib.sha256(b"\0".join([caller.encode(), scope["path"].encode()])).hexdigest()

        if not await self._claim(scope_key, key, request_hash):
            async with self._sessionmaker() as session:
                record = (
                    (
                        await session.execute(
                            select(idempotency_records).where(
                                idempotency_records.c.scope == scope_key, idempotency_records.c.key == key
                            )
                        )
                    )
                    .mappings()
                    .first()
                )
            if record is None:  # expired between the claim and the read
                await _problem(scope, receive, send, 409, "idempotency-key-in-use", "Retry the request")
                return
            if record["request_hash"] != request_hash:
                await _problem(
                    scope,
                    receive,
                    send,
                    422,
                    "idempotency-key-reused",
                    "This Idempotency-Key was used with a different request",
                )
                return
            if record["status_code"] is None:
                await _problem(
                    scope,
                    receive,
                    send,
                    409,
                    "idempotency-key-in-use",
                    "A request with this Idempotency-Key is still being processed",
                )
                return
            body = record["response_body"] or b""
            if body:
                body = await self._cipher().decrypt(body, context=_context(scope_key, key))
            await _replay(send, record, body)
            return

        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            await self._settle(scope_key, key, status, headers, b"".join(chunks))

    async def _caller(self, scope: Scope) -> str:
        authorization = header(scope, b"authorization")
        if not authorization or self._verifier is None:
            return "anonymous"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return "anonymous"
        try:
            principal = await self._verifier.verify(token.strip())
        except (InvalidToken, JwksUnavailable):
            return "unverified"  # the route itself refuses the request
        return f"sub:{principal.subject}"

    async def _claim(self, scope_key: str, key: str, request_hash: bytes) -> bool:
        """Insert the record as running; True when this request is the first (or the first died)."""
        async with self._sessionmaker() as session, session.begin():
            inserted = await session.execute(
                pg_insert(idempotency_records)
                .values(scope=scope_key, key=key, request_hash=request_hash)
                .on_conflict_do_nothing()
                .returning(idempotency_records.c.key)
            )
            if inserted.first() is not None:
                return True
            revived = await session.execute(
                update(idempotency_records)
                .where(
                    idempotency_records.c.scope == scope_key,
                    idempotency_records.c.key == key,
                    idempotency_records.c.request_hash == request_hash,
                    idempotency_records.c.status_code.is_(None),
                    idempotency_records.c.created_at < func.now() - STALE_AFTER,
                )
                .values(created_at=func.now())
                .returning(idempotency_records.c.key)
            )
            return revived.first() is not None

    async def _settle(
        self, scope_key: str, key: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        this_record = (idempotency_records.c.scope == scope_key) & (idempotency_records.c.key == key)
        async with self._sessionmaker() as session, session.begin():
            if status >= 500:
                await session.execute(delete(idempotency_records).where(this_record))
                return
            kept = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in headers
                if k.decode("latin-1").lower() in _REPLAYED_HEADERS
            }
            if body:
                body = await self._cipher().encrypt(body, context=_context(scope_key, key))
            await session.execute(
                update(idempotency_records)
                .where(this_record)
                .values(status_code=status, response_headers=kept, response_body=body)
            )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _context(scope_key: str, key: str) -> bytes:
    return f"platform.idempotency_records.response_body:{scope_key}:{key}".encode()


async def _replay(send: Send, record: Any, body: bytes) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (record["response_headers"] or {}).items()]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": record["status_code"], "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _problem(scope: Scope, receive: Receive, send: Send, status: int, slug: str, detail: str) -> None:
    titles = {400: "Bad Request", 409: "Conflict", 422: "Unprocessable Content"}
    response = problem_response(
        status=status, type_=f"{TYPE_PREFIX}{slug}", title=titles[status], detail=detail, instance=scope["path"]
    )
    await response(scope, receive, send)
