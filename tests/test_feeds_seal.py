"""`syndicator feeds` skips the store when nothing changed, and only then (real site, SQLite)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator import cli
from syndicator.cli import main
from syndicator.config import load
from syndicator.feeds_seal import SealedRun, check_seal, seal_inputs, seal_path
from tests.test_cli import ROOT, make_project, snapshot

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The CLI's clock: set ``clock[0]`` to move time."""
    now = [NOW]
    monkeypatch.setattr(cli, "_now", lambda: now[0])
    return now


def _run(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["feeds", "--config", str(config), *extra])
    return code, capsys.readouterr().out


def _check(config: Path, now: datetime) -> SealedRun | None:
    settings = load(config)
    return check_seal(settings, now, seal_inputs(settings))


def _database(config: Path) -> Path:
    path = seal_path(load(config))
    assert path is not None
    return Path(str(path).removesuffix(".feeds-seal.json"))


def test_unchanged_run_reports_as_the_full_run_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clock: list[datetime]
) -> None:
    config = make_project(tmp_path)
    assert _run(config, capsys)[0] == 0
    database = _database(config)
    before = (database.stat().st_mtime_ns, snapshot(tmp_path / "public"))
    code, sealed = _run(config, capsys)
    assert code == 0
    assert (database.stat().st_mtime_ns, snapshot(tmp_path / "public")) == before
    seal_path(load(config)).unlink()  # type: ignore[union-attr]
    assert _run(config, capsys) == (0, sealed)  # the full run says exactly the same
    assert "nothing changed" in sealed and " unchanged, 0 skipped" in sealed


def test_unchanged_run_does_not_load_the_store(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    script = (
        "import sys; from syndicator.cli import main; "
        f"code = main(['feeds', '--quiet', '--config', {str(config)!r}]); "
        "print(code, 'sqlalchemy' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    assert [r.stdout.split() for r in runs] == [["0", "True"], ["0", "False"]], runs[1].stderr


def test_changed_post_file_means_a_full_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clock: list[datetime]
) -> None:
    config = make_project(tmp_path)
    _run(config, capsys)
    post = tmp_path / "site" / "_posts" / "2026-01-16-ai-policy.md"
    post.write_text(
        post.read_text(encoding="utf-8").replace("title:", "title: 고친 제목", 1), encoding="utf-8"
    )
    code, out = _run(config, capsys)
    assert code == 0 and "1 changed" in out
    assert "고친 제목" in (tmp_path / "public" / "feed.xml").read_text(encoding="utf-8")


def test_future_post_appears_when_due(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clock: list[datetime]
) -> None:
    config = make_project(tmp_path)
    (tmp_path / "site" / "_posts" / "2026-04-01-later.md").write_text(
        "---\ntitle: Later post\ndate: 2026-04-01 09:00:00 +09:00\n---\n\nNot yet.\n",
        encoding="utf-8",
    )
    _run(config, capsys)
    feed = tmp_path / "public" / "feed.xml"
    assert "Later post" not in feed.read_text(encoding="utf-8")
    assert _check(config, NOW) is not None
    clock[0] = datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)  # 09:00:01 in Seoul
    assert _check(config, clock[0]) is None
    code, out = _run(config, capsys)
    assert code == 0 and "1 new" in out
    assert "Later post" in feed.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("feed-edited", id="feed-file-edited"),
        pytest.param("feed-removed", id="feed-file-removed"),
        pytest.param("store-written", id="store-written-elsewhere"),
        pytest.param("config", id="config-changed"),
        pytest.param("site-config", id="site-config-changed"),
    ],
)
def test_any_change_breaks_the_seal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    config = make_project(tmp_path)
    _run(config, capsys)
    feed = tmp_path / "public" / "feed.xml"
    if change == "feed-edited":
        feed.write_text("x", encoding="utf-8")
    elif change == "feed-removed":
        feed.unlink()
    elif change == "store-written":
        import sqlite3

        with sqlite3.connect(_database(config)) as conn:
            conn.execute("CREATE TABLE scratch (x INTEGER)")
    elif change == "config":
        config.write_text(config.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    else:
        site_config = tmp_path / "site" / "_config.yml"
        site_config.write_text(site_config.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert _check(config, datetime.now(UTC)) is None
    assert _run(config, capsys)[0] == 0
    assert feed.read_text(encoding="utf-8").startswith("<?xml")
    assert _check(config, datetime.now(UTC)) is not None  # sealed again


def test_problems_are_reported_on_every_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_project(tmp_path)
    (tmp_path / "site" / "_posts" / "2026-01-20-broken.md").write_text(
        "---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8"
    )
    assert main(["feeds", "--config", str(config)]) == 1
    assert seal_path(load(config)) is not None and not seal_path(load(config)).exists()  # type: ignore[union-attr]
    assert main(["feeds", "--config", str(config)]) == 1
    assert "2026-01-20-broken.md" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(
            '[[sources]]\nname = "news"\ntype = "feed"\nurl = "http://127.0.0.1:9/x"\n',
            id="remote-source",
        ),
    ],
)
def test_no_seal_for_remote_sources(tmp_path: Path, extra: str) -> None:
    config = make_project(tmp_path, extra)
    assert seal_path(load(config)) is None
