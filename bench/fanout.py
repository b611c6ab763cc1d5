"""Benchmark: one edition for 100,000 subscribers (3 content variants, ~40 KB HTML each) in a
SQLite store, delivered by the real CLI (`syndicator send`) to a provider in another process.

postmark: the loopback fake (`python -m tests.fakes.mailapi`), rate from its /_fake/stats;
smtp: an aiosmtpd sink (bench/smtpsink.py, 2 processes; plain SMTP on loopback, no TLS).
Prints messages/s accepted by the provider and the sender's peak RSS (os.wait4 rusage of the
CLI process).

    python bench/fanout.py [--subscribers 100000] [--backend postmark|smtp|both]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procstat import tree_pss_kb  # noqa: E402  (bench/, first on sys.path)

from syndicator import config  # noqa: E402
from syndicator.deliver.parallel import AUTO_FROM  # noqa: E402
from syndicator.editions import make_edition  # noqa: E402
from syndicator.pipeline import collect  # noqa: E402
from syndicator.store import Store  # noqa: E402
from syndicator.store.schema import subscribers, subscriptions  # noqa: E402

NOW = datetime.now(UTC)
TOPICS = ("로봇", "모델", "정책")
KEY = "bench-postmark-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _site(root: Path, posts: int) -> None:
    """A Jekyll site of ``posts`` recent posts with long Korean bodies and three topics."""
    site = root / "site"
    shutil.copytree(ROOT / "examples" / "site", site, ignore=shutil.ignore_patterns("_posts"))
    (site / "_posts").mkdir()
    paragraph = (
        "이번 주에는 작은 언어 모델과 로봇 제어, 그리고 새 규제안에 대한 소식이 이어졌습니다. "
        "연구진은 같은 연산 예산에서 더 나은 결과를 얻는 방법을 보고했고, 업계는 이를 제품에 "
        "빠르게 반영하고 있습니다. "
    )
    for number in range(posts):
        day = NOW - timedelta(days=1 + number % 6, hours=number)
        topic = TOPICS[number % len(TOPICS)]
        (site / "_posts" / f"{day:%Y-%m-%d}-bench-{number}.md").write_text(
            f'---\ntitle: "벤치마크 글 {number}: {topic} 소식과 그 의미"\n'
            f"date: {day:%Y-%m-%d %H:%M:%S} +0900\n"
            f"categories:\n  - News\ntags:\n  - [{topic}]\n---\n\n"
            + "\n\n".join(paragraph * 3 for _ in range(4))
            + "\n",
            encoding="utf-8",
        )


def _config(root: Path, backend: str, mail: str) -> Path:
    path = root / "syndicator.toml"
    path.write_text(
        '[[sources]]\nname = "blog"\ntype = "jekyll"\npath = "site"\n'
        f'[database]\nurl = "sqlite:///{root / "db.sqlite"}"\n'
        f'[mail]\nbackend = "{backend}"\nfrom = "Weekly Notes <news@blog.example.com>"\n{mail}\n'
        '[web]\nbase_url = "https://news.example.com"\npostal_address = "Seoul"\n'
        '[[newsletters]]\nname = "weekly"\ntitle = "Weekly Notes"\n'
        'schedule = "0 9 * * mon"\nsince = "30d"\nmax_posts = 40\n',
        encoding="utf-8",
    )
    return path


def _subscribers(store: Store, count: int) -> None:
    """Bulk insert: a third want one topic only, a third read English, a third everything."""
    rows, subs = [], []
    for i in range(count):
        rows.append(
            {
                "id": i + 1,
                "email": f"reader{i}@example.org",
                "email_key": f"reader{i}@example.org",
                "name": f"독자 {i}" if i % 2 else "",
                "status": "active",
                "created": NOW,
                "confirmed": NOW,
                "status_changed": NOW,
                "language": "en" if i % 3 == 1 else None,
            }
        )
        topics = list(TOPICS[:2]) if i % 3 == 2 else []
        subs.append(
            {
                "subscriber_id": i + 1,
                "newsletter": "weekly",
                "topics": topics,
                "frequency": "weekly",
            }
        )
    with store._db.write() as conn:
        for start in range(0, count, 10_000):
            conn.execute(subscribers.insert(), rows[start : start + 10_000])
            conn.execute(subscriptions.insert(), subs[start : start + 10_000])


def _prepare(root: Path, backend: str, mail: str, count: int, env: dict[str, str]) -> Path:
    _site(root, posts=30)
    path = _config(root, backend, mail)
    settings = config.load(path, env=env)
    store = Store.open(settings.database.url)
    try:
        collect(settings, store, NOW)
        _subscribers(store, count)
        edition = make_edition(settings, store, settings.newsletter("weekly"), NOW, force=True)
        assert edition is not None
        counts = store.delivery_counts(edition.id)
        with store._db.read() as conn:
            variants = conn.exec_driver_sql("SELECT count(DISTINCT variant) FROM deliveries")
            print(f"edition: {counts['pending']} deliveries, {variants.scalar()} variants")
    finally:
        store.close()
    return path


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live child process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _send(path: Path, env: dict[str, str]) -> tuple[float, int, float, int]:
    """Run `syndicator send weekly` in its own process: (wall s, peak RSS bytes of its largest
    process, CPU s of it and its sender processes, peak PSS bytes of the whole tree)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "syndicator", "send", "weekly", "--config", str(path)],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    peak = [0]
    finished = threading.Event()

    def sample() -> None:  # every 0.2 s: each sample walks the page tables (~2 ms)
        while not finished.wait(0.2):
            peak[0] = max(peak[0], tree_pss_kb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    finished.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sender failed with status {status}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss * 1024, cpu, peak[0] * 1024


def _postmark(root: Path, count: int, batch: int) -> dict[str, float]:
    port = _free_port()
    fake = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.fakes.mailapi", "--provider", "postmark"),
            *("--port", str(port), "--key", KEY),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None and "listening" in fake.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        env = {
            "SYNDICATOR_SECRET_KEY": "bench-secret",
            "SYNDICATOR_MAIL_API_KEY": KEY,
            "SYNDICATOR_MAIL_API_URL": url,
        }
        mail = f"batch_size = {batch}" if batch else ""
        path = _prepare(root, "postmark", mail, count, env)
        provider_cpu = _cpu_seconds(fake.pid)
        elapsed, rss, cpu, tree = _send(path, env)
        provider_cpu = _cpu_seconds(fake.pid) - provider_cpu
        with urllib.request.urlopen(f"{url}/_fake/stats") as answer:
            stats = json.loads(answer.read())
    finally:
        fake.terminate()
        fake.wait()
    assert stats["accepted"] == count, stats
    return {
        "accepted": stats["accepted"],
        "seconds": elapsed,
        "rss": rss,
        "tree": tree,
        "cpu": cpu,
        "provider_cpu": provider_cpu,
    }


def _smtp(root: Path, count: int, connections: int, workers: int) -> dict[str, Any]:
    port = _free_port()
    # Spread the senders' connections evenly: `send` forks one sender process per core (at
    # most 4) from AUTO_FROM messages on, each with its own `connections`.
    senders = min(os.cpu_count() or 1, 4) if count >= AUTO_FROM else 1
    per_worker = -(-connections * senders // workers)
    sink = subprocess.Popen(
        [
            *(sys.executable, str(ROOT / "bench" / "smtpsink.py"), str(port)),
            *("--workers", str(workers), "--per-worker", str(per_worker)),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "listening"
    env = {"SYNDICATOR_SECRET_KEY": "bench-secret"}
    mail = f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\nconnections = {connections}\n'
    path = _prepare(root, "smtp", mail, count, env)
    elapsed, rss, cpu, tree = _send(path, env)
    out, _ = sink.communicate("")
    totals = json.loads(out)
    assert totals["accepted"] == count, out
    return {
        "accepted": totals["accepted"],
        "seconds": elapsed,
        "rss": rss,
        "tree": tree,
        "cpu": cpu,
        "provider_cpu": totals["cpu"],  # includes the idle wait while the store was prepared
        "provider_seconds": totals["last"] - totals["first"],
        "per_worker": totals["per_worker"],
    }


def _print(name: str, figures: dict[str, Any]) -> None:
    rate = figures["accepted"] / figures["seconds"]
    line = (
        f"{name}: {int(figures['accepted'])} accepted in {figures['seconds']:.1f} s "
        f"(whole CLI process) = {rate:,.0f} messages/s; sender peak RSS "
        f"{figures['rss'] / 2**20:.0f} MB (largest process), peak PSS of its process tree "
        f"{figures['tree'] / 2**20:.0f} MB; CPU s: sender {figures['cpu']:.1f}, "
        f"provider {figures['provider_cpu']:.1f}"
    )
    if "provider_seconds" in figures:
        line += f"; first to last accepted {figures['provider_seconds']:.1f} s"
    if "per_worker" in figures:
        line += f"; messages per sink process {figures['per_worker']}"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--backend", choices=("postmark", "smtp", "both"), default="both")
    parser.add_argument("--connections", type=int, default=4, help="SMTP connections")
    parser.add_argument(
        "--sink-workers", type=int, default=2, help="aiosmtpd sink processes (1: a single one)"
    )
    parser.add_argument("--batch-size", type=int, default=0, help="[mail] batch_size")
    args = parser.parse_args()
    for name in ("postmark", "smtp"):
        if args.backend not in (name, "both"):
            continue
        with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
            if name == "postmark":
                figures = _postmark(Path(tmp), args.subscribers, args.batch_size)
            else:
                figures = _smtp(
                    Path(tmp), args.subscribers, args.connections, args.sink_workers
                )
        _print(name, figures)


if __name__ == "__main__":
    main()
