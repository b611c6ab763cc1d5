"""Sample posts, subscribers and collections written for the store tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

from syndicator.model import Author, Post
from syndicator.sources import Collection

KST = timezone(timedelta(hours=9))
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=KST)


def make_post(n: int, *, source: str = "blog", **changes: object) -> Post:
    """Post number ``n``: published n hours after T0, in KST, with a category and tags."""
    fields: dict[str, object] = {
        "id": f"https://blog.example.com/2026/01/01/post-{n}",
        "url": f"https://blog.example.com/2026/01/01/post-{n}.html",
        "title": f"글 {n}: 작은 모델의 추론",
        "published": T0 + timedelta(hours=n),
        "updated": T0 + timedelta(hours=n, minutes=30),
        "source": source,
        "body": f"본문 {n}입니다. **중요한** 내용.",
        "excerpt": None,
        "authors": (Author("편집부", "desk@example.com"),),
        "categories": ("news",) if n % 2 == 0 else ("research",),
        "tags": ("llm", f"tag{n % 3}"),
        "image": None,
        "language": "ko",
        "origin": f"_posts/2026-01-01-post-{n}.md",
    }
    fields.update(changes)
    return Post(**fields)  # type: ignore[arg-type]


def collect(
    posts: Iterable[Post],
    *,
    source: str = "blog",
    unchanged: Iterable[str] = (),
    complete: bool = True,
    failed: bool = False,
) -> Collection:
    """A Collection as a source reports it: stamps for every post, origins for read ones."""
    read = tuple(posts)
    kept = frozenset(unchanged)
    stamps = {p.origin: f"stamp-{p.content_hash[:8]}" for p in read}
    stamps.update({origin: "kept" for origin in kept})
    return Collection(
        source=source,
        changed=read,
        unchanged=kept,
        stamps=stamps,
        origins={p.origin: p.id for p in read},
        complete=complete,
        failed=failed,
        state={"etag": "abc"},
    )


NOW = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
