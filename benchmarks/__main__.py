"""Run every benchmark module in turn, each in its own event loop, and print what it measured."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import sys
import time

import benchmarks


def main() -> int:
    modules = pkgutil.iter_modules(benchmarks.__path__)
    names = sorted(module.name for module in modules if not module.name.startswith("_"))
    failed: list[str] = []
    for name in names:
        print(f"# {name}", flush=True)
        started = time.perf_counter()
        try:
            asyncio.run(importlib.import_module(f"benchmarks.{name}").main())
        except Exception as error:
            # One broken benchmark should not hide the others' figures.
            print(f"# {name} failed: {error!r}", flush=True)
            failed.append(name)
            continue
        print(f"# {name} took {time.perf_counter() - started:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
