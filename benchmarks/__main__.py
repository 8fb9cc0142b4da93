"""Run every ``bench_*.py`` script that has a ``main()``, or only those named on the command line.

``python -m benchmarks`` runs them all in turn; ``python -m benchmarks estimation raking`` runs
``bench_estimation.py`` and ``bench_raking.py``. Options after the one name go to that script's
``main(argv)``: ``python -m benchmarks demo --runs 1``. A script that fails is reported and the
others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Return the names (without the ``bench_`` prefix) of every benchmark script, sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def run(name: str, options: list[str] | None = None) -> bool:
    """Import ``benchmarks.bench_<name>`` and call its ``main()``; return whether it succeeded.

    ``options`` go to ``main(argv)`` when it takes an argument list; a ``main()`` without one
    runs only without options.
    """
    print(f"\n{'=' * 100}\nbenchmarks.bench_{name}\n{'=' * 100}", flush=True)
    start = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        entry = getattr(module, "main", None)
        if not callable(entry):
            print(f"skipped: bench_{name}.py has no main()")
            return True
        if inspect.signature(entry).parameters:
            entry(options or [])
        elif options:
            print(f"bench_{name}.py takes no options (got {' '.join(options)})", file=sys.stderr)
            return False
        else:
            entry()
    except Exception:
        traceback.print_exc()
        print(f"bench_{name} FAILED after {time.perf_counter() - start:.1f} s", flush=True)
        return False
    print(f"\nbench_{name} finished in {time.perf_counter() - start:.1f} s", flush=True)
    return True


def cli(argv: list[str]) -> int:
    """Run the requested benchmarks (all when none are named)."""
    available = discover()
    first_option = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:first_option], argv[first_option:]
    wanted = [a.removeprefix("bench_").removesuffix(".py") for a in names] or available
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    if options and len(wanted) != 1:
        print(f"options {options} need exactly one benchmark named before them", file=sys.stderr)
        return 2
    results = [run(name, options) for name in wanted]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
