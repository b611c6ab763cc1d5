"""`syndicator subscribers`: add/remove/list, CSV import with per-line errors, export round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicator.cli import main
from tests.test_cli import make_project


def run(config: Path, *args: str) -> int:
    return main(["subscribers", *args, "--config", str(config)])


def test_add_normalizes_and_rejects_bad_addresses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_project(tmp_path)
    assert run(config, "add", "Reader@EXAMPLE.com", "--name", "독자") == 0
    assert "pending" in capsys.readouterr().out
    assert run(config, "add", "not-an-address") == 2
    assert "not a valid email address" in capsys.readouterr().err
    assert run(config, "add", "x@example.com", "--newsletter", "daily") == 2
    assert "no newsletter named 'daily'" in capsys.readouterr().err
    assert run(config, "list") == 0
    out = capsys.readouterr().out
    assert "Reader@example.com\tpending\tweekly\t독자" in out


def test_import_reports_bad_rows_by_line_and_imports_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_project(tmp_path)
    csv_file = tmp_path / "in.csv"
    csv_file.write_text(
        "email,name,newsletters,status,created_at\n"
        "a@example.com,가나다,weekly,active,2025-12-01T09:00:00+09:00\n"
        "broken-address,x,weekly,active,\n"
        "b@example.com,B,daily,active,\n"
        "c@example.com,C,weekly,sleeping,\n"
        "d@example.com,D,weekly,unsubscribed,\n",
        encoding="utf-8",
    )
    assert run(config, "import", str(csv_file)) == 1
    captured = capsys.readouterr()
    assert f"{csv_file}:3: " in captured.err and "not a valid email" in captured.err
    assert f"{csv_file}:4: unknown newsletter 'daily'" in captured.err
    assert f"{csv_file}:5: status 'sleeping'" in captured.err
    assert "imported 2 subscriber(s), 3 row(s) skipped" in captured.out

    out_file = tmp_path / "out.csv"
    assert run(config, "export", str(out_file)) == 0
    exported = out_file.read_text(encoding="utf-8").splitlines()
    assert exported[0] == "email,name,newsletters,status,created_at"
    assert exported[1].startswith("a@example.com,가나다,weekly,active,2025-12-01T00:00:00")
    assert exported[2].startswith("d@example.com,D,weekly,unsubscribed,")

    # the export imports again unchanged (round trip)
    again = make_project(tmp_path / "second")
    assert run(again, "import", str(out_file)) == 0
    second = tmp_path / "second" / "out.csv"
    assert run(again, "export", str(second)) == 0
    assert second.read_text(encoding="utf-8") == out_file.read_text(encoding="utf-8")


def test_remove_deletes_and_can_suppress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_project(tmp_path)
    assert run(config, "add", "a@example.com", "--confirmed") == 0
    assert run(config, "remove", "a@example.com", "--suppress") == 0
    assert run(config, "remove", "a@example.com") == 1
    assert "no such subscriber" in capsys.readouterr().err
