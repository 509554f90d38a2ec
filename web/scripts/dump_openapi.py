"""Write each Kairos service's OpenAPI document to a directory, from the app objects, without a server.

The web app's typed client is generated from these files (``npm run generate``), so the client follows the
code of this checkout exactly: no running backend, no database, same output on every machine.

    uv run python web/scripts/dump_openapi.py web/.openapi
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from kairos.platform.config import Settings, TransportKind
from kairos.platform.db.engine import database_url
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.services import all_definitions

# Engines are created lazily: building the apps opens no connection to this address.
UNUSED_DATABASE = "postgresql://openapi@127.0.0.1:1/unused"


def dump(directory: Path) -> list[Path]:
    settings = Settings(database_url=SecretStr(UNUSED_DATABASE), transport=TransportKind.IN_PROCESS)
    transport = InProcessTransport(retry_delays=settings.event_retry_delays)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for definition in all_definitions():
        runtime = ServiceRuntime(
            definition,
            settings=settings,
            database_url=database_url(settings, definition.name),
            transport=transport,
        )
        with warnings.catch_warnings():
            # FastAPI warns about a route served on two methods (userinfo: GET and POST); harmless here.
            warnings.simplefilter("ignore", UserWarning)
            document = runtime.app.openapi()
        path = directory / f"{definition.name}.json"
        path.write_text(json.dumps(unique_operation_ids(document), indent=2, ensure_ascii=False) + "\n", "utf-8")
        written.append(path)
    return written


def unique_operation_ids(document: dict[str, Any]) -> dict[str, Any]:
    """Suffix the method to a repeated ``operationId``: OpenAPI 3.1 §4.8.10.1 requires them unique, but
    FastAPI gives a route served on two methods (identity's userinfo: GET and POST) one id for both."""
    seen: set[str] = set()
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            identifier = operation.get("operationId") if isinstance(operation, dict) else None
            if identifier is None:
                continue
            if identifier in seen:
                operation["operationId"] = f"{identifier}_{method}"
            seen.add(operation["operationId"])
    return document


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: dump_openapi.py DIRECTORY")
    for path in dump(Path(sys.argv[1])):
        sys.stdout.write(f"{path}\n")
