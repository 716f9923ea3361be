"""The original minos release of the seed's era, in a virtual environment of its own.

``ensure_peer()`` creates ``.bench/peer-venv`` when it is missing or was built
by another recipe, and otherwise reuses it. The recipe pins what the 2021
releases need to install and run on a current Python:

1. ``cython<3``, ``wheel`` and ``setuptools`` first, because PyYAML 5.4.1 (the
   release's cap is ``<6``) has no wheel for current Pythons and its sources
   only build with Cython 0.29;
2. PyYAML 5.4.1 built with ``--no-build-isolation`` so that it uses them;
3. the four minos distributions with ``kafka-python==2.0.2`` (networks imports
   ``kafka``);
4. ``aiokafka==0.11.0`` with ``--no-deps`` over the pinned 0.7.2, which cannot
   join a consumer group on the Tansu broker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

__all__ = ["PEER_RECIPE", "PeerUnavailable", "ensure_peer", "peer_python"]

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / ".bench" / "peer-venv"
STAMP = PEER_VENV / ".minos-peer-recipe"
LOG = ROOT / ".bench" / "peer-install.log"

PEER_DISTRIBUTIONS = (
    "minos-microservice-common==0.1.17",
    "minos-microservice-networks==0.0.19",
    "minos-microservice-saga==0.0.12",
    "minos-microservice-cqrs==0.0.5",
)

# Each entry is the argument list of one ``pip install`` run, in order.
PEER_RECIPE: tuple[tuple[str, ...], ...] = (
    ("cython<3", "wheel", "setuptools"),
    ("--no-build-isolation", "PyYAML==5.4.1"),
    (*PEER_DISTRIBUTIONS, "kafka-python==2.0.2"),
    ("--no-deps", "aiokafka==0.11.0"),
)

_CHECK = (
    "import aiokafka, minos.common, minos.cqrs, minos.networks, minos.saga, yaml; "
    "assert aiokafka.__version__ == '0.11.0', aiokafka.__version__; "
    "assert yaml.__version__ == '5.4.1', yaml.__version__"
)


class PeerUnavailable(RuntimeError):
    """The original release could not be installed; the message says why."""


def peer_python() -> Path:
    return PEER_VENV / "bin" / "python"


def _base_python() -> str:
    chosen = os.environ.get("MINOS_BENCH_PEER_PYTHON") or shutil.which("python3")
    if not chosen:
        raise PeerUnavailable(
            "no python3 on PATH to build the original release's environment; "
            "set MINOS_BENCH_PEER_PYTHON to a Python 3.11 interpreter"
        )
    return chosen


def _fingerprint(base: str) -> str:
    version = subprocess.run(
        [base, "-c", "import sys; print(sys.version)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    recipe = json.dumps({"python": version, "recipe": PEER_RECIPE}, sort_keys=True)
    return hashlib.sha256(recipe.encode()).hexdigest()


def _works() -> bool:
    if not peer_python().exists():
        return False
    check = subprocess.run(
        [str(peer_python()), "-c", _CHECK], capture_output=True, cwd="/"
    )
    return check.returncode == 0


def _run(command: list[str], log: IO[str]) -> None:
    logger.info("peer environment: %s", " ".join(command))
    print("  $", " ".join(command), file=sys.stderr, flush=True)
    completed = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
    if completed.returncode != 0:
        tail = LOG.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise PeerUnavailable(
            f"`{' '.join(command)}` failed ({completed.returncode}); see {LOG}:\n{tail}"
        )


def ensure_peer() -> Path:
    """The peer environment's interpreter, built first if needed."""
    base = _base_python()
    fingerprint = _fingerprint(base)
    if STAMP.exists() and STAMP.read_text().strip() == fingerprint and _works():
        return peer_python()

    print(
        f"Building the original release's environment in {PEER_VENV} ...",
        file=sys.stderr,
        flush=True,
    )
    if PEER_VENV.exists():
        shutil.rmtree(PEER_VENV)
    PEER_VENV.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("w", encoding="utf-8") as log:
        _run([base, "-m", "venv", str(PEER_VENV)], log)
        pip = [str(peer_python()), "-m", "pip", "install", "--quiet"]
        for step in PEER_RECIPE:
            _run([*pip, *step], log)
    if not _works():
        check = subprocess.run(
            [str(peer_python()), "-c", _CHECK], capture_output=True, text=True, cwd="/"
        )
        reason = check.stderr[-2000:]
        raise PeerUnavailable(f"the original release does not import: {reason}")
    STAMP.write_text(fingerprint + "\n")
    return peer_python()
