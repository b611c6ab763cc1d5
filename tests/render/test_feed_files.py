"""Feed files on disk: atomic, only-when-changed writes and removal of stale feeds."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from syndicator.errors import RenderError
from syndicator.model import Entry
from syndicator.render.files import is_feed_file, remove_stale, sync_folders, write_if_changed


def test_new_file_is_written_readable_by_the_web_server(tmp_path: Path) -> None:
    path = tmp_path / "public" / "feed" / "by_tag" / "LLM.xml"
    assert write_if_changed(path, b"<feed/>") is True
    assert path.read_bytes() == b"<feed/>"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_unchanged_file_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    write_if_changed(path, b"same bytes")
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = path.stat()
    assert write_if_changed(path, b"same bytes") is False
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_ctime_ns) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_ctime_ns,
    )


def test_changed_file_is_replaced_atomically_keeping_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "rss.xml"
    write_if_changed(path, b"old")
    path.chmod(0o640)
    inode = path.stat().st_ino
    assert write_if_changed(path, b"new") is True
    assert path.read_bytes() == b"new"
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rss.xml"]  # no temp file left


def test_a_failed_write_is_a_render_error_and_leaves_no_temp_file(tmp_path: Path) -> None:
    folder = tmp_path / "feed.json"
    folder.mkdir()  # a folder where the file should be
    with pytest.raises(RenderError, match=r"feed\.json"):
        write_if_changed(folder, b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.json"]


OURS = [
    "feed.xml",
    "rss.xml",
    "feed.json",
    "feed/News.xml",
    "feed/News.rss.xml",
    "feed/News.json",
    "feed/Old.xml",
    "feed/by_tag/LLM.xml",
    "feed/by_tag/Gone.rss.xml",
    "feed/by_tag/xn--2q1bm7vs1dr1t.json",
]
NOT_OURS = [
    "index.html",
    "atom.xml",
    "feed/README.md",
    "feed/.News.xml.abc123.tmp",
    "feed/by_tag/notes.txt",
    "feed/deeper/x.xml",
    "sitemap.xml",
]


def test_remove_stale_removes_only_our_files_that_are_not_kept(tmp_path: Path) -> None:
    for name in OURS + NOT_OURS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    keep_names = {
        "feed.xml",
        "rss.xml",
        "feed/News.xml",
        "feed/News.rss.xml",
        "feed/by_tag/LLM.xml",
    }
    removed = remove_stale(tmp_path, {tmp_path / name for name in keep_names})
    expected = sorted(set(OURS) - keep_names)
    assert sorted(p.relative_to(tmp_path.resolve()).as_posix() for p in removed) == expected
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(keep_names | set(NOT_OURS))


def test_remove_stale_keeps_symlinks_and_kept_paths_given_another_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "feed").mkdir(parents=True)
    (tmp_path / "elsewhere.xml").write_text("x")
    (site / "feed" / "linked.xml").symlink_to(tmp_path / "elsewhere.xml")
    (site / "feed.xml").symlink_to(tmp_path / "elsewhere.xml")
    for name in ("feed/a.xml", "feed/b.xml", "rss.xml"):
        (site / name).write_text("x")
    (tmp_path / "alias").symlink_to(site)  # the folder reached through a link
    monkeypatch.chdir(tmp_path)
    removed = remove_stale(Path("alias"), {Path("site/feed/a.xml"), Path("alias/rss.xml")})
    assert removed == [site.resolve() / "feed" / "b.xml"]
    assert (site / "feed" / "linked.xml").is_symlink() and (site / "feed.xml").is_symlink()
    assert (site / "feed" / "a.xml").exists() and (site / "rss.xml").exists()


def test_remove_stale_on_an_empty_folder(tmp_path: Path) -> None:
    assert remove_stale(tmp_path / "missing", set()) == []


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        pytest.param("feed.json", True, id="top-json"),
        pytest.param("feed/by_tag/a.rss.xml", True, id="tag-rss"),
        pytest.param("feed/a.html", False, id="html"),
        pytest.param("feed/.a.xml.tmp", False, id="temp"),
        pytest.param("other/a.xml", False, id="other-folder"),
        pytest.param("feed/by_tag/x/a.xml", False, id="too-deep"),
    ],
)
def test_is_feed_file(tmp_path: Path, name: str, ours: bool) -> None:
    assert is_feed_file(tmp_path, tmp_path / name) is ours
    assert is_feed_file(tmp_path, Path("/elsewhere") / name) is False


def test_a_second_run_writes_nothing_and_a_vanished_tag_loses_its_feeds(tmp_path: Path) -> None:
    import dataclasses

    from syndicator.render.feedplan import feed_paths, plan_feeds
    from syndicator.render.feeds import render_feed
    from tests.render.feed_samples import FEEDS, SITE, sample_entries

    def publish(entries: list[Entry]) -> tuple[int, set[Path]]:
        written, keep = 0, set()
        for plan in plan_feeds([e.post for e in entries], SITE, FEEDS):
            for fmt, relative in feed_paths(plan, FEEDS.formats).items():
                keep.add(tmp_path / relative)
                data = render_feed(plan, entries, fmt, SITE, FEEDS)
                written += write_if_changed(tmp_path / relative, data)
        return written, keep

    entries = sample_entries()
    first, keep = publish(entries)
    assert first == len(keep) == 24
    assert remove_stale(tmp_path, keep) == []
    assert publish(entries)[0] == 0
    # The only "Agents" post loses its tag: that tag's three files go, the rest stay.
    entries = [
        dataclasses.replace(e, post=dataclasses.replace(e.post, tags=("LLM",)))
        if "Agents" in e.post.tags
        else e
        for e in entries
    ]
    rewritten, keep = publish(entries)
    removed = remove_stale(tmp_path, keep)
    assert sorted(p.name for p in removed) == ["Agents.json", "Agents.rss.xml", "Agents.xml"]
    assert rewritten == 9  # main, News and LLM feeds: the post's category terms changed


def test_folder_sync_can_be_left_for_once_per_folder(tmp_path: Path) -> None:
    paths = [tmp_path / "feed" / f"{name}.xml" for name in ("a", "b")] + [tmp_path / "feed.xml"]
    for path in paths:
        assert write_if_changed(path, b"<feed/>", sync_folder=False) is True
        assert write_if_changed(path, b"<feed/>", sync_folder=False) is False
    sync_folders(paths)
    assert [path.read_bytes() for path in paths] == [b"<feed/>"] * 3
    assert not [p for p in tmp_path.rglob(".*.tmp")]  # no temp file left behind
