"""Regenerates the Python stubs of every ``.proto`` file here: ``uv run python -m kairos.contracts.proto.generate``.

The stubs are committed (callers need no protoc); ``tests/unit/appointments/test_grpc_contract.py`` fails when
they differ from what this produces. Needs ``grpcio-tools`` (a development dependency).
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[3]  # src/, so that imports read kairos.contracts.proto…


def proto_files() -> list[Path]:
    return sorted(SOURCE_ROOT.joinpath("kairos", "contracts", "proto").rglob("*.proto"))


def generate(output_root: Path) -> list[Path]:
    """Write ``*_pb2.py``, ``*_pb2.pyi`` and ``*_pb2_grpc.py`` beside each proto's path under ``output_root``."""
    from grpc_tools import protoc

    well_known = str(files("grpc_tools").joinpath("_proto"))
    sources = [str(path.relative_to(SOURCE_ROOT)) for path in proto_files()]
    arguments = [
        "grpc_tools.protoc",
        f"-I{SOURCE_ROOT}",
        f"-I{well_known}",
        f"--python_out={output_root}",
        f"--pyi_out={output_root}",
        f"--grpc_python_out={output_root}",
        *sources,
    ]
    if protoc.main(arguments) != 0:
        raise RuntimeError(f"protoc failed on {sources}")
    return sorted(
        path.relative_to(output_root) for path in output_root.rglob("*_pb2*.py*") if path.suffix in {".py", ".pyi"}
    )


if __name__ == "__main__":
    written = generate(SOURCE_ROOT)
    sys.stdout.write("".join(f"{path}\n" for path in written))
