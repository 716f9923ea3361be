"""Runs the benchmark service in its own process: ``python -m benchmarks.app.serve``.

Argument: the path of its ``config.yml``; the interpreter decides the side.
The launcher serves until the parent sends SIGINT or SIGTERM.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from .boot import build_launcher


def main(argv: list[str]) -> int:
    (config_path,) = argv
    launcher = build_launcher(Path(config_path))
    # The original launcher stops on KeyboardInterrupt only: map SIGTERM to it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    launcher.launch()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
