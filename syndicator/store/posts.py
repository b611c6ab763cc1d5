"""Posts as sources report them: what is new, changed or gone; plus source stamps and state."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from syndicator.model import Author, Post
from syndicator.sources import Collection
from syndicator.store.database import Database
from syndicator.store.schema import post_topics, posts, source_stamps, sources

__all__ = ["CHUNK", "CollectResult", "PostHead", "PostRecords", "chunks", "post_from_row"]

log = logging.getLogger(__name__)

CHUNK = 500  # ids per IN (...) list: well under every driver's parameter limit
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What one collection changed in the store; ``baseline``: the source's first collection."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    baseline: bool = False


@dataclass(frozen=True, slots=True)
class PostHead:
    """What planning feeds needs of a stored post: no body, no rendering; cheap to load."""

    id: str
    published: datetime
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    origin: str
    content_hash: str


def chunks(items: Sequence[_T], size: int = CHUNK) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _offset_minutes(value: datetime) -> int:
    offset = value.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def _with_offset(value: datetime, minutes: int) -> datetime:
    return value.astimezone(timezone(timedelta(minutes=minutes)))


def _post_row(post: Post, now: datetime) -> dict[str, Any]:
    return {
        "id": post.id,
        "source": post.source,
        "origin": post.origin,
        "url": post.url,
        "title": post.title,
        "published": post.published,
        "published_offset": _offset_minutes(post.published),
        "updated": post.updated,
        "updated_offset": _offset_minutes(post.updated),
        "body": post.body,
        "body_format": post.body_format,
        "excerpt": post.excerpt,
        "authors": [[a.name, a.email, a.url] for a in post.authors],
        "categories": list(post.categories),
        "tags": list(post.tags),
        "image": post.image,
        "language": post.language,
        "content_hash": post.content_hash,
        "last_changed": now,
        "removed": None,
    }


def post_from_row(row: RowMapping) -> Post:
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


def _topic_rows(post: Post) -> list[dict[str, str]]:
    rows = [{"post_id": post.id, "kind": "category", "topic": t} for t in set(post.categories)]
    rows += [{"post_id": post.id, "kind": "tag", "topic": t} for t in set(post.tags)]
    return rows


class PostRecords:
    """Posts, source stamps and source state."""

    _db: Database

    def record_collection(self, collection: Collection, now: datetime) -> CollectResult:
        """Store what a source collected, in one transaction; report new/changed/removed ids."""
        with self._db.write() as conn:
            return self._record(conn, collection, now)

    def record_collections(
        self, collections: Sequence[Collection], now: datetime
    ) -> list[CollectResult]:
        """Store many sources' collections and their state in ONE transaction (one commit)."""
        with self._db.write() as conn:
            return [self._record(conn, collection, now) for collection in collections]

    def _record(self, conn: Connection, collection: Collection, now: datetime) -> CollectResult:
        name = collection.source
        source_row = conn.execute(
            sa.select(sources.c.first_collected).where(sources.c.name == name)
        ).first()
        baseline = source_row is None or source_row.first_collected is None
        latest = {post.id: post for post in collection.changed}  # last copy of an id wins
        stored = self._stored_hashes(conn, list(latest))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        new: list[str] = []
        changed: list[str] = []
        unchanged = len(collection.unchanged)
        for post in latest.values():
            row = _post_row(post, now)
            before = stored.get(post.id)
            if before is None:
                inserts.append({**row, "first_seen": now})
                new.append(post.id)
            elif before[0] != row["content_hash"] or before[1] is not None:
                updates.append({**row, "_id": post.id})
                changed.append(post.id)
            else:
                unchanged += 1
        if inserts:
            conn.execute(posts.insert(), inserts)
        if updates:
            values: dict[str, Any] = {
                c: sa.bindparam(c) for c in updates[0] if c not in ("_id", "id")
            }
            conn.execute(
                posts.update().where(posts.c.id == sa.bindparam("_id")).values(values),
                updates,
            )
        touched = [latest[i] for i in new + changed]
        for part in chunks([p.id for p in touched]):
            conn.execute(post_topics.delete().where(post_topics.c.post_id.in_(part)))
        topic_rows = [row for post in touched for row in _topic_rows(post)]
        if topic_rows:
            conn.execute(post_topics.insert(), topic_rows)
        removed: list[str] = []
        if collection.complete and not collection.failed:
            seen = set(collection.unchanged) | set(collection.origins)
            seen |= {post.origin for post in collection.changed}
            removed = self._remove_unseen(conn, name, seen, set(latest), now)
        self._save_stamps(conn, collection)
        self._save_source(conn, collection, now, first=baseline and not collection.failed)
        result = CollectResult(
            new=() if baseline else tuple(new),
            changed=tuple(changed),
            removed=tuple(removed),
            unchanged=unchanged,
            baseline=baseline,
        )
        log.info(
            "collection recorded source=%s new=%d changed=%d removed=%d unchanged=%d baseline=%s",
            name,
            len(new),
            len(changed),
            len(removed),
            unchanged,
            baseline,
        )
        return result

    @staticmethod
    def _stored_hashes(
        conn: Connection, ids: Sequence[str]
    ) -> dict[str, tuple[str, datetime | None]]:
        found: dict[str, tuple[str, datetime | None]] = {}
        for part in chunks(ids):
            query = sa.select(posts.c.id, posts.c.content_hash, posts.c.removed).where(
                posts.c.id.in_(part)
            )
            found.update((r.id, (r.content_hash, r.removed)) for r in conn.execute(query))
        return found

    @staticmethod
    def _remove_unseen(
        conn: Connection, source: str, seen: set[str], kept: set[str], now: datetime
    ) -> list[str]:
        query = sa.select(posts.c.id, posts.c.origin).where(
            posts.c.source == source, posts.c.removed.is_(None)
        )
        gone = [r.id for r in conn.execute(query) if r.origin not in seen and r.id not in kept]
        for part in chunks(gone):
            conn.execute(posts.update().where(posts.c.id.in_(part)).values(removed=now))
        return gone

    @staticmethod
    def _save_stamps(conn: Connection, collection: Collection) -> None:
        """Make the stored stamps the collection's, touching only rows that differ."""
        table = source_stamps
        query = sa.select(table.c.origin, table.c.stamp).where(table.c.source == collection.source)
        stored = {r.origin: r.stamp for r in conn.execute(query)}
        fresh = collection.stamps
        if collection.complete and not collection.failed:
            stale = [origin for origin, stamp in stored.items() if fresh.get(origin) != stamp]
        else:
            stale = [
                origin for origin in fresh if origin in stored and stored[origin] != fresh[origin]
            ]
        for part in chunks(stale):
            conn.execute(
                table.delete().where(table.c.source == collection.source, table.c.origin.in_(part))
            )
        rows = [
            {"source": collection.source, "origin": origin, "stamp": stamp}
            for origin, stamp in fresh.items()
            if stored.get(origin) != stamp
        ]
        if rows:
            conn.execute(table.insert(), rows)

    def _save_source(
        self, conn: Connection, collection: Collection, now: datetime, *, first: bool
    ) -> None:
        row: dict[str, Any] = {"name": collection.source, "state": dict(collection.state)}
        if not collection.failed:
            row["last_collected"] = now
        if first:
            row["first_collected"] = now
        self._db.upsert(conn, sources, [row])

    def source_stamps(self, source: str) -> dict[str, str]:
        """origin -> stamp as the source reported them last time."""
        with self._db.read() as conn:
            query = sa.select(source_stamps.c.origin, source_stamps.c.stamp).where(
                source_stamps.c.source == source
            )
            return {r.origin: r.stamp for r in conn.execute(query)}

    def source_state(self, source: str) -> dict[str, Any]:
        with self._db.read() as conn:
            state = conn.execute(
                sa.select(sources.c.state).where(sources.c.name == source)
            ).scalar()
        return dict(state) if state else {}

    def sources_known(
        self, names: Sequence[str]
    ) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Any]]]:
        """Stamps and state of many sources in one read: (name -> stamps, name -> state)."""
        stamps: dict[str, dict[str, str]] = {name: {} for name in names}
        states: dict[str, dict[str, Any]] = {name: {} for name in names}
        with self._db.read() as conn:
            for part in chunks(list(stamps)):
                query = sa.select(
                    source_stamps.c.source, source_stamps.c.origin, source_stamps.c.stamp
                ).where(source_stamps.c.source.in_(part))
                for row in conn.execute(query):
                    stamps[row.source][row.origin] = row.stamp
                rows = conn.execute(
                    sa.select(sources.c.name, sources.c.state).where(sources.c.name.in_(part))
                )
                states.update((row.name, dict(row.state)) for row in rows if row.state)
        return stamps, states

    def set_source_state(self, source: str, state: Mapping[str, Any]) -> None:
        with self._db.write() as conn:
            self._db.upsert(conn, sources, [{"name": source, "state": dict(state)}])

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
        c = posts.c
        query = (
            sa.select(
                c.id,
                c.published,
                c.published_offset,
                c.categories,
                c.tags,
                c.origin,
                c.content_hash,
            )
            .where(posts.c.removed.is_(None))
            .order_by(posts.c.published.desc(), posts.c.id)
        )
        with self._db.read() as conn:
            return [
                PostHead(
                    id=r.id,
                    published=_with_offset(r.published, r.published_offset),
                    categories=tuple(r.categories),
                    tags=tuple(r.tags),
                    origin=r.origin,
                    content_hash=r.content_hash,
                )
                for r in conn.execute(query)
            ]

    def get_posts(self, ids: Sequence[str]) -> list[Post]:
        """The stored posts with these ids (removed ones too), in the order given."""
        found: dict[str, Post] = {}
        with self._db.read() as conn:
            for part in chunks(list(dict.fromkeys(ids))):
                query = sa.select(posts).where(posts.c.id.in_(part))
                found.update((r["id"], post_from_row(r)) for r in conn.execute(query).mappings())
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
