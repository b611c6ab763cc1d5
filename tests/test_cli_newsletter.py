"""`preview`, `send` (--now, --to, --dry-run) and `run` from the command line, outbox backend."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from syndicator.cli import main
from tests.test_cli import make_project

WEB = '[web]\nbase_url = "https://news.example.com"\npostal_address = "Seoul"\n'


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATOR_SECRET_KEY", "test-secret")


def test_preview_writes_html_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_project(tmp_path, WEB)
    out = tmp_path / "p.html"
    assert main(["preview", "weekly", "-o", str(out), "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    html = out.read_text(encoding="utf-8")
    assert "주간 AI 뉴스" in html and "https://news.example.com/unsubscribe/" in html
    assert not (tmp_path / "outbox").exists()


def test_dry_run_then_test_copy_then_real_send(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_project(tmp_path, WEB)
    c = ["--config", str(config)]
    assert main(["subscribers", "add", "a@example.com", "--confirmed", *c]) == 0
    capsys.readouterr()

    assert main(["send", "weekly", "--dry-run", *c]) == 0
    out = capsys.readouterr().out
    assert "would send to 1 active subscriber(s)" in out and "nothing sent" in out
    assert not (tmp_path / "outbox").exists()

    assert main(["send", "weekly", "--to", "editor@example.com", *c]) == 0
    [test_copy] = (tmp_path / "outbox").glob("*.eml")
    parsed = email.message_from_bytes(test_copy.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "editor@example.com"
    assert parsed["Subject"].startswith("[TEST] ")
    test_copy.unlink()

    assert main(["send", "weekly", *c]) == 0  # not due yet (Monday 09:00): nothing made
    assert "not due yet" in capsys.readouterr().out
    assert not list((tmp_path / "outbox").glob("*.eml"))

    assert main(["send", "weekly", "--now", *c]) == 0
    [real] = (tmp_path / "outbox").glob("*.eml")
    assert "a@example.com" in real.read_text(encoding="utf-8", errors="replace")
    assert main(["send", "weekly", "--now", *c]) == 0  # every post announced: no second mail
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_sending_without_a_secret_key_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNDICATOR_SECRET_KEY")
    config = make_project(tmp_path, WEB)
    assert (
        main(["subscribers", "add", "a@example.com", "--confirmed", "--config", str(config)]) == 0
    )
    assert main(["send", "weekly", "--now", "--config", str(config)]) == 2
    assert "SYNDICATOR_SECRET_KEY" in capsys.readouterr().err


def test_second_run_with_no_wait_exits_while_first_holds_the_lock(tmp_path: Path) -> None:
    config = make_project(tmp_path, WEB)
    env = {**os.environ, "SYNDICATOR_CONFIG": str(config)}
    assert main(["run", "--config", str(config)]) == 0  # create the store first
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from syndicator.store import Store;"
            f"s=Store.open({'sqlite:///' + str(tmp_path / 'state' / 's.db')!r});"
            "cm=s.lock('run'); cm.__enter__(); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = subprocess.run(
            [sys.executable, "-m", "syndicator", "run", "--no-wait"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0
        assert "another syndicator run is in progress" in done.stderr
    finally:
        holder.kill()
        holder.wait()
