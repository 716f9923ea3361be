"""The launcher in a real process: signals, exit codes and start-up failures."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SERVICE = Path(__file__).parent / "data" / "launch_service"
MAIN = "from minos.common.launcher import main; main()"
TIMEOUT = 15


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    target = tmp_path / "journal"
    shutil.copytree(SERVICE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINOS_")}
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(path: Path, line: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if path.exists() and line in path.read_text().splitlines():
            return
        if process.poll() is not None:
            raise AssertionError(f"launcher exited early:\n{process.stdout.read()}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"{line!r} never written:\n{process.communicate()[0]}")


def journal(directory: Path) -> list[str]:
    return (directory / "journal.log").read_text().splitlines()


def use_services(directory: Path, *services: str) -> None:
    config = directory / "config.yml"
    text = config.read_text()
    listed = "".join(f"    - src.services.{name}\n" for name in services)
    start_at = text.index("  services:\n") + len("  services:\n")
    end_at = text.index("rest:")
    config.write_text(text[:start_at] + listed + text[end_at:])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_minos_run_stops_cleanly_on_signal(service_dir: Path, tmp_path: Path, signum):
    process = start("-c", MAIN, "run", str(service_dir), cwd=tmp_path)
    wait_for_line(
        service_dir / "journal.log", "SecondService started (journal)", process
    )

    process.send_signal(signum)
    output, _ = process.communicate(timeout=TIMEOUT)

    assert process.returncode == 0, output
    assert journal(service_dir) == [
        "journal setup",
        "FirstService started (journal)",
        "SecondService started (journal)",
        "SecondService stopped",
        "FirstService stopped",
        "journal destroy",
    ]
    assert "started src.services.FirstService" in output
    assert "REST interface configured on 127.0.0.1:8099" in output
    assert "microservice 'journal' stopped" in output


def test_failing_service_stops_the_launch(service_dir: Path):
    use_services(service_dir, "FirstService", "FailingService", "SecondService")
    script = (
        "from minos.common import EntrypointLauncher\n"
        "EntrypointLauncher.from_config('config.yml', external_modules=['src'])"
        ".launch()\n"
    )
    process = start("-c", script, cwd=service_dir)
    output, _ = process.communicate(timeout=TIMEOUT)

    assert process.returncode != 0
    assert "service src.services.FailingService failed to start" in output
    assert "RuntimeError: port 8099 is taken by another process" in output
    assert journal(service_dir) == [
        "journal setup",
        "FirstService started (journal)",
        "FirstService stopped",
        "journal destroy",
    ]


def test_minos_run_reports_a_failing_injection(service_dir: Path):
    config = service_dir / "config.yml"
    config.write_text(
        config.read_text().replace("file: ./journal.log", "file: ./missing/j.log")
    )
    process = start("-c", MAIN, "run", str(service_dir), cwd=service_dir)
    output, _ = process.communicate(timeout=TIMEOUT)

    assert process.returncode == 1
    assert "minos: error: injection 'journal' (src.components.Journal) failed" in output
    assert "No such file or directory" in output


def test_minos_run_bad_directory(tmp_path: Path):
    process = start("-c", MAIN, "run", str(tmp_path / "nowhere"), cwd=tmp_path)
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 1
    assert output.strip() == f"minos: error: {tmp_path / 'nowhere'}: not a directory"

    process = start("-c", MAIN, "run", str(tmp_path), cwd=tmp_path)
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 1
    assert "config.yml: no such file" in output


def test_minos_run_bad_config_has_no_traceback(service_dir: Path):
    (service_dir / "config.yml").write_text("service:\n  name: [\n")
    process = start("-c", MAIN, "run", ".", cwd=service_dir)
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 1
    assert f"minos: error: {service_dir / 'config.yml'}: invalid YAML" in output
    assert "Traceback" not in output


def test_minos_run_unimportable_service_has_no_traceback(service_dir: Path):
    use_services(service_dir, "FirstService", "MissingService")
    process = start("-c", MAIN, "run", ".", cwd=service_dir)
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 1
    assert (
        f"{service_dir / 'config.yml'}: service.services[1]: cannot import "
        "'src.services.MissingService'" in output
    )
    assert "Traceback" not in output


def test_minos_run_with_another_config_file(service_dir: Path, tmp_path: Path):
    text = (service_dir / "config.yml").read_text()
    (service_dir / "other.yml").write_text(text.replace("name: journal", "name: other"))
    (service_dir / "config.yml").write_text("not: [valid")
    process = start(
        "-c", MAIN, "run", str(service_dir), "--config", "other.yml", cwd=tmp_path
    )
    wait_for_line(service_dir / "journal.log", "SecondService started (other)", process)

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=TIMEOUT)

    assert process.returncode == 0, output
    assert "microservice 'other' stopped" in output


def test_a_service_failing_to_stop_makes_the_exit_code_non_zero(
    service_dir: Path, tmp_path: Path
):
    use_services(service_dir, "FirstService", "BrokenStopService")
    process = start("-c", MAIN, "run", str(service_dir), cwd=tmp_path)
    wait_for_line(
        service_dir / "journal.log", "BrokenStopService started (journal)", process
    )

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=TIMEOUT)

    assert process.returncode == 1, output
    assert "the socket is already gone" in output
    assert "FirstService stopped" in journal(service_dir)  # the others still stop


def test_an_expected_start_up_error_is_reported_without_a_traceback(
    service_dir: Path, tmp_path: Path
):
    config = service_dir / "config.yml"
    text = config.read_text().replace(
        "    journal: src.components.Journal\n",
        "    journal: src.components.Journal\n"
        "    postgresql_pool: minos.common.PostgreSqlPool\n",
    )
    config.write_text(
        text + "repository:\n  database: nowhere\n  host: 127.0.0.1\n  port: 1\n"
    )
    process = start("-c", MAIN, "run", str(service_dir), cwd=tmp_path)
    output, _ = process.communicate(timeout=TIMEOUT * 2)

    assert process.returncode == 1, output
    assert "127.0.0.1:1" in output
    assert "Traceback" not in output
