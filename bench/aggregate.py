"""Benchmark: collect 500 remote feeds of 20 entries each from a loopback server, twice.

Each collection is a whole `python -m syndicator feeds` process: the first fetches and stores
everything, the second finds every feed unchanged (all 304). Prints seconds, peak RSS, and the
ratios against issue 6's targets and rss2email 3.14's figures.

    python bench/aggregate.py [--feeds 500] [--port 18765] [--repeat 1]

With --repeat N, N pairs of runs (each pair on a fresh store) and then the medians.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"first": 5.0, "second": 1.0}
RSS2EMAIL = {"first": 61.0, "second": 2.1}
MEMORY_TARGET_MB = 250


def _config(folder: Path, port: int, feeds: int) -> Path:
    lines = [
        "[site]",
        'title = "Aggregate bench"',
        'url = "https://bench.example.com"',
        "[database]",
        'url = "sqlite:///state/bench.db"',
        "[feeds]",
        'dir = "public"',
    ]
    for n in range(feeds):
        lines += [
            "[[sources]]",
            f'name = "blog{n}"',
            'type = "feed"',
            f'url = "http://127.0.0.1:{port}/gen/{n}.xml"',
        ]
    path = folder / "syndicator.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"the feed server did not start on port {port}")


def _run(command: list[str]) -> tuple[float, float, float, int]:
    """Run one whole process; return wall seconds, CPU seconds, peak RSS in MB, exit code.

    CPU seconds (user + system, of the process and its children) do not grow with the load
    other programs put on the machine, as the wall clock does.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, process.returncode


def _pair(port: int, feeds: int, figures: dict[str, list[tuple[float, float, float]]]) -> None:
    """A first and a second collection on a fresh store; print and keep their figures."""
    with tempfile.TemporaryDirectory() as tmp:
        config = _config(Path(tmp), port, feeds)
        command = [sys.executable, "-m", "syndicator", "feeds", "-q", "--config", str(config)]
        print("command:", " ".join(command))
        for run in ("first", "second"):
            seconds, cpu, peak, code = _run(command)
            figures[run].append((seconds, cpu, peak))
            print(
                f"{run:6s}: {seconds:6.2f} s (cpu {cpu:5.2f} s)  peak RSS {peak:6.1f} MB  "
                f"exit {code}  load {os.getloadavg()[0]:.1f}  "
                f"target {TARGETS[run]:.1f} s ({seconds / TARGETS[run]:.2f}x)  "
                f"rss2email {RSS2EMAIL[run]:.1f} s ({RSS2EMAIL[run] / seconds:.1f}x faster)  "
                f"memory {peak / MEMORY_TARGET_MB:.2f} of {MEMORY_TARGET_MB} MB"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs, fresh store each")
    args = parser.parse_args()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.feedserver",
            "--port",
            str(args.port),
            "--generate",
            str(args.feeds),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for(args.port)
        figures: dict[str, list[tuple[float, float, float]]] = {"first": [], "second": []}
        for _ in range(args.repeat):
            _pair(args.port, args.feeds, figures)
        if args.repeat > 1:
            for run, rows in figures.items():
                wall = statistics.median(r[0] for r in rows)
                print(
                    f"median {run:6s}: {wall:6.2f} s (min {min(r[0] for r in rows):.2f})  "
                    f"cpu {statistics.median(r[1] for r in rows):5.2f} s  "
                    f"peak RSS {max(r[2] for r in rows):6.1f} MB  "
                    f"target {TARGETS[run]:.1f} s ({wall / TARGETS[run]:.2f}x)"
                )
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
