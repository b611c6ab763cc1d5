"""Reading stored posts: whole posts, body-less heads for planning feeds, topics, counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from syndicator.model import Author, Post
from syndicator.store.bulk import chunks, select_all
from syndicator.store.database import Database
from syndicator.store.schema import post_topics, posts

__all__ = ["PostHead", "PostReads", "post_from_row"]


@dataclass(frozen=True, slots=True)
class PostHead:
    """What planning feeds needs of a stored post: no body, no rendering; cheap to load."""

    id: str
    published: datetime
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    origin: str
    content_hash: str


@lru_cache(maxsize=64)
def _zone(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


def _with_offset(value: datetime, minutes: int) -> datetime:
    return value.astimezone(_zone(minutes))


def post_from_row(row: Mapping[Any, Any]) -> Post:
    """Rebuild a Post exactly as the source made it, including its UTC offsets."""
    return Post(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        published=_with_offset(row["published"], row["published_offset"]),
        updated=_with_offset(row["updated"], row["updated_offset"]),
        source=row["source"],
        body=row["body"],
        body_format=row["body_format"],
        excerpt=row["excerpt"],
        authors=tuple(Author(name, email, url) for name, email, url in row["authors"]),
        categories=tuple(row["categories"]),
        tags=tuple(row["tags"]),
        image=row["image"],
        language=row["language"],
        origin=row["origin"],
    )


_HEAD_COLUMNS = ("id", "published", "published_offset", "categories", "tags", "origin")
_POST_KEYS = tuple(column.key for column in posts.c)


class PostReads:
    """Posts as stored: what feeds, editions and the web pages read."""

    _db: Database

    def posts(
        self, *, limit: int | None = None, topic: str | None = None, since: datetime | None = None
    ) -> list[Post]:
        """Posts not removed, newest first by published; ``topic`` matches a category or tag."""
        query = sa.select(posts).where(posts.c.removed.is_(None))
        if topic is not None:
            query = query.where(
                sa.exists().where(post_topics.c.post_id == posts.c.id, post_topics.c.topic == topic)
            )
        if since is not None:
            query = query.where(posts.c.published >= since)
        query = query.order_by(posts.c.published.desc(), posts.c.id).limit(limit)
        with self._db.read() as conn:
            return [post_from_row(r) for r in conn.execute(query).mappings()]

    def post_heads(self) -> list[PostHead]:
        """Every post not removed, without its body, newest first (as :meth:`posts`)."""
        query = (
            sa.select(*(posts.c[name] for name in _HEAD_COLUMNS), posts.c.content_hash)
            .where(posts.c.removed.is_(None))
            .order_by(posts.c.published.desc(), posts.c.id)
        )
        with self._db.read() as conn:
            rows = select_all(conn, query)  # 2,000 rows on every feeds run: no per-row ORM-ish work
        return [
            PostHead(
                id=post_id,
                published=_with_offset(published, offset),
                categories=tuple(categories),
                tags=tuple(tags),
                origin=origin,
                content_hash=content_hash,
            )
            for post_id, published, offset, categories, tags, origin, content_hash in rows
        ]

    def get_posts(self, ids: Sequence[str]) -> list[Post]:
        """The stored posts with these ids (removed ones too), in the order given."""
        found: dict[str, Post] = {}
        with self._db.read() as conn:
            for part in chunks(list(dict.fromkeys(ids))):
                query = sa.select(posts).where(posts.c.id.in_(part))
                for row in select_all(conn, query):
                    post = post_from_row(dict(zip(_POST_KEYS, row, strict=True)))
                    found[post.id] = post
        return [found[i] for i in ids if i in found]

    def topics(self) -> dict[str, set[str]]:
        """Categories and tags of posts not removed: {"categories": {...}, "tags": {...}}."""
        query = (
            sa.select(post_topics.c.kind, post_topics.c.topic)
            .join(posts, posts.c.id == post_topics.c.post_id)
            .where(posts.c.removed.is_(None))
            .distinct()
        )
        result: dict[str, set[str]] = {"categories": set(), "tags": set()}
        with self._db.read() as conn:
            for row in conn.execute(query):
                result["categories" if row.kind == "category" else "tags"].add(row.topic)
        return result

    def post_count(self) -> int:
        with self._db.read() as conn:
            query = sa.select(sa.func.count()).select_from(posts).where(posts.c.removed.is_(None))
            return int(conn.execute(query).scalar_one())
