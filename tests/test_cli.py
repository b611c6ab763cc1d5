"""The command line on real sites and a real SQLite store: exit codes, messages, idempotence."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syndicator.cli import main

ROOT = Path(__file__).resolve().parent.parent


def make_project(tmp_path: Path, extra: str = "") -> Path:
    """A copy of the example site with a config beside it; returns the config path."""
    shutil.copytree(ROOT / "examples" / "site", tmp_path / "site")
    config = tmp_path / "syndicator.toml"
    config.write_text(
        '[[sources]]\nname = "blog"\ntype = "jekyll"\npath = "site"\n'
        '[database]\nurl = "sqlite:///state/s.db"\n'
        '[mail]\nfrom = "AI 뉴스 <news@blog.example.com>"\n'
        '[[newsletters]]\nname = "weekly"\ntitle = "주간 AI 뉴스"\n'
        'schedule = "0 9 * * mon"\nsince = "36500d"\n' + extra,
        encoding="utf-8",
    )
    return config


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_ino)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_feeds_twice_rewrites_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_project(tmp_path)
    assert main(["feeds", "--config", str(config)]) == 0
    public = tmp_path / "public"
    first = snapshot(public)
    assert {"feed.xml", "rss.xml", "feed.json"} <= set(first)
    assert any(name.startswith("feed/by_tag/xn--") for name in first), "Korean tags get feeds"
    capsys.readouterr()

    assert main(["feeds", "--config", str(config)]) == 0
    assert snapshot(public) == first
    assert "nothing changed" in capsys.readouterr().out

    # forced: everything is rendered again, yet identical bytes leave every file untouched
    assert main(["feeds", "--config", str(config), "--force"]) == 0
    assert snapshot(public) == first


def test_new_post_updates_only_affected_feeds(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    assert main(["feeds", "--config", str(config)]) == 0
    public = tmp_path / "public"
    first = snapshot(public)
    (tmp_path / "site" / "_posts" / "2026-01-18-new-chip.md").write_text(
        "---\ntitle: New chip\ncategories: [Hardware]\ntags: [GPU]\n---\n\nA **new** chip.\n",
        encoding="utf-8",
    )
    assert main(["feeds", "--config", str(config)]) == 0
    second = snapshot(public)
    changed = {name for name in first if first[name] != second[name]}
    assert {
        "feed.xml",
        "rss.xml",
        "feed.json",
        "feed/Hardware.xml",
        "feed/by_tag/GPU.xml",
    } <= changed
    assert "feed/News.xml" not in changed
    assert "https://blog.example.com/hardware/new-chip/" in (public / "feed.xml").read_text()


def test_check_lists_bad_posts_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_project(tmp_path)
    posts = tmp_path / "site" / "_posts"
    (posts / "2026-01-02-bad-yaml.md").write_text("---\ntitle: ok\ntags: [a, b\n---\nbody\n")
    (posts / "2026-01-03-bad-date.md").write_text("---\ntitle: x\ndate: 2026-13-45\n---\nbody\n")
    (posts / "2026-01-04-latin1.md").write_bytes("---\ntitle: caf\xe9\n---\n".encode("latin-1"))
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "2026-01-02-bad-yaml.md:" in out
    assert "2026-01-03-bad-date.md:3" in out
    assert "2026-01-04-latin1.md" in out and "UTF-8" in out
    assert "6 usable, 3 problem(s)" in out

    # feeds skips them with a warning, writes the rest, and exits 1
    assert main(["feeds", "--config", str(config)]) == 1
    assert (tmp_path / "public" / "feed.xml").exists()


def test_bad_config_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_project(tmp_path, '[feeds]\nlimit = "many"\n')
    assert main(["feeds", "--config", str(config)]) == 2
    assert f"{config}: feeds.limit:" in capsys.readouterr().err


def test_init_writes_starter_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    written = tmp_path / "config" / "syndicator.toml"
    assert written.read_text(encoding="utf-8").startswith("# syndicator configuration")
    assert main(["init", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_console_script_runs_as_a_module(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    env = {**os.environ, "SYNDICATOR_CONFIG": str(config)}
    done = subprocess.run(
        [sys.executable, "-m", "syndicator", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "source blog: ok, 6 usable, 0 problem(s)" in done.stdout
