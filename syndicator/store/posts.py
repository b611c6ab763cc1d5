"""Posts as sources report them: what is new, changed or gone; plus source stamps and state."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syndicator.model import Post
from syndicator.sources import Collection
from syndicator.store.bulk import CHUNK, chunks, insert_many, select_all
from syndicator.store.database import Database
from syndicator.store.post_reads import PostHead, PostReads, post_from_row
from syndicator.store.schema import post_topics, posts, source_stamps, sources

# CHUNK, chunks, PostHead and post_from_row are imported from here by the other records.
__all__ = ["CHUNK", "CollectResult", "PostHead", "PostRecords", "chunks", "post_from_row"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What one collection changed in the store; ``baseline``: the source's first collection."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    baseline: bool = False


def _offset_minutes(value: datetime) -> int:
    offset = value.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


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


def _topic_rows(post: Post) -> list[dict[str, str]]:
    rows = [{"post_id": post.id, "kind": "category", "topic": t} for t in set(post.categories)]
    rows += [{"post_id": post.id, "kind": "tag", "topic": t} for t in set(post.tags)]
    return rows


@dataclass(slots=True)
class _Writes:
    """What is stored (read once) and the rows many collections will write together."""

    stored: dict[str, tuple[str, datetime | None]]  # post id -> content hash, removed
    stamps: dict[str, dict[str, str]]  # source -> origin -> stamp
    collected: set[str] = field(default_factory=set)  # sources collected once already
    done: set[str] = field(default_factory=set)  # sources recorded in this batch
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    topics: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # of touched posts
    stale: list[tuple[str, str]] = field(default_factory=list)  # (source, origin)
    new_stamps: list[dict[str, str]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)

    def clear(self) -> None:
        for rows in (self.inserts, self.updates, self.stale, self.new_stamps, self.sources):
            rows.clear()
        self.topics.clear()
        self.done.clear()


class PostRecords(PostReads):
    """Posts, source stamps and source state."""

    _db: Database

    def record_collection(self, collection: Collection, now: datetime) -> CollectResult:
        """Store what a source collected, in one transaction; report new/changed/removed ids."""
        return self.record_collections([collection], now)[0]

    def record_collections(
        self, collections: Sequence[Collection], now: datetime
    ) -> list[CollectResult]:
        """Store many sources' collections and their state in ONE transaction (one commit).

        What is stored already is read up front and rows are written together, one executemany
        per table (not one per source): 500 sources cost a few dozen statements, not 4,000.
        """
        with self._db.write() as conn:
            names = list(dict.fromkeys(c.source for c in collections))
            ids = list(dict.fromkeys(p.id for c in collections for p in c.changed))
            writes = _Writes(
                stored=self._stored_hashes(conn, ids), stamps=self._stored_stamps(conn, names)
            )
            for part in chunks(names):
                query = sa.select(sources.c.name).where(
                    sources.c.name.in_(part), sources.c.first_collected.is_not(None)
                )
                writes.collected.update(conn.scalars(query))
            results = []
            for collection in collections:
                if collection.source in writes.done or collection.complete:
                    self._flush(conn, writes)  # it reads what is stored: write the rest first
                    writes.stamps.update(self._stored_stamps(conn, [collection.source]))
                results.append(self._record(conn, collection, now, writes))
            self._flush(conn, writes)
            return results

    def _record(
        self, conn: Connection, collection: Collection, now: datetime, writes: _Writes
    ) -> CollectResult:
        name = collection.source
        baseline = name not in writes.collected
        latest = {post.id: post for post in collection.changed}  # last copy of an id wins
        stored = writes.stored
        new: list[str] = []
        changed: list[str] = []
        unchanged = len(collection.unchanged)
        for post in latest.values():
            before = stored.get(post.id)
            if before is not None and before == (post.content_hash, None):
                unchanged += 1
                continue
            row = _post_row(post, now)
            if before is None:
                writes.inserts.append({**row, "first_seen": now})
                new.append(post.id)
            else:
                writes.updates.append({**row, "_id": post.id})
                changed.append(post.id)
            stored[post.id] = (row["content_hash"], None)
            writes.topics[post.id] = _topic_rows(post)
        removed: list[str] = []
        if collection.complete and not collection.failed:
            seen = set(collection.unchanged) | set(collection.origins)
            seen |= {post.origin for post in collection.changed}
            removed = self._remove_unseen(conn, name, seen, set(latest), now)
            for post_id in removed:
                if post_id in stored:
                    stored[post_id] = (stored[post_id][0], now)
        self._save_stamps(collection, writes)
        source: dict[str, Any] = {"name": name, "state": dict(collection.state)}
        if not collection.failed:
            source["last_collected"] = now
            if baseline:
                source["first_collected"] = now
                writes.collected.add(name)
        writes.sources.append(source)
        writes.done.add(name)
        result = CollectResult(
            new=() if baseline else tuple(new),
            changed=tuple(changed),
            removed=tuple(removed),
            unchanged=unchanged,
            baseline=baseline,
        )
        log.info(
            "collection recorded source=%s new=%d changed=%d removed=%d unchanged=%d baseline=%s",
            name, len(new), len(changed), len(removed), unchanged, baseline,
        )  # fmt: skip
        return result

    def _flush(self, conn: Connection, writes: _Writes) -> None:
        """Write the rows gathered so far: posts, their topics, stamps, then sources."""
        insert_many(conn, posts, writes.inserts)
        if writes.updates:
            values: dict[str, Any] = {
                c: sa.bindparam(c) for c in writes.updates[0] if c not in ("_id", "id")
            }
            update = posts.update().where(posts.c.id == sa.bindparam("_id")).values(values)
            conn.execute(update, writes.updates)
        for part in chunks(list(writes.topics)):
            conn.execute(post_topics.delete().where(post_topics.c.post_id.in_(part)))
        insert_many(conn, post_topics, [row for rows in writes.topics.values() for row in rows])
        if writes.stale:
            table = source_stamps
            delete = table.delete().where(
                table.c.source == sa.bindparam("s"), table.c.origin == sa.bindparam("o")
            )
            conn.execute(delete, [{"s": source, "o": origin} for source, origin in writes.stale])
        insert_many(conn, source_stamps, writes.new_stamps)
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in writes.sources:  # upsert wants the same columns in every row
            by_columns.setdefault(tuple(row), []).append(row)
        for rows in by_columns.values():
            self._db.upsert(conn, sources, rows)
        writes.clear()

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
    def _stored_stamps(conn: Connection, names: Sequence[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {name: {} for name in names}
        table = source_stamps
        for part in chunks(names):
            query = sa.select(table.c.source, table.c.origin, table.c.stamp)
            for source, origin, stamp in select_all(conn, query.where(table.c.source.in_(part))):
                found[source][origin] = stamp
        return found

    @staticmethod
    def _remove_unseen(
        conn: Connection, source: str, seen: set[str], kept: set[str], now: datetime
    ) -> list[str]:
        query = sa.select(posts.c.id, posts.c.origin).where(
            posts.c.source == source, posts.c.removed.is_(None)
        )
        rows = select_all(conn, query)
        gone = [post_id for post_id, origin in rows if origin not in seen and post_id not in kept]
        for part in chunks(gone):
            conn.execute(posts.update().where(posts.c.id.in_(part)).values(removed=now))
        return gone

    @staticmethod
    def _save_stamps(collection: Collection, writes: _Writes) -> None:
        """Make the stored stamps the collection's, touching only rows that differ."""
        stored = writes.stamps.get(collection.source, {})
        fresh = collection.stamps
        if collection.complete and not collection.failed:
            stale = [origin for origin, stamp in stored.items() if fresh.get(origin) != stamp]
        else:
            stale = [
                origin for origin in fresh if origin in stored and stored[origin] != fresh[origin]
            ]
        writes.stale += [(collection.source, origin) for origin in stale]
        writes.new_stamps += [
            {"source": collection.source, "origin": origin, "stamp": stamp}
            for origin, stamp in fresh.items()
            if stored.get(origin) != stamp
        ]

    def source_stamps(self, source: str) -> dict[str, str]:
        """origin -> stamp as the source reported them last time."""
        with self._db.read() as conn:
            return self._stored_stamps(conn, [source])[source]

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
        states: dict[str, dict[str, Any]] = {name: {} for name in names}
        with self._db.read() as conn:
            stamps = self._stored_stamps(conn, list(states))
            for part in chunks(list(states)):
                rows = conn.execute(
                    sa.select(sources.c.name, sources.c.state).where(sources.c.name.in_(part))
                )
                states.update((row.name, dict(row.state)) for row in rows if row.state)
        return stamps, states

    def set_source_state(self, source: str, state: Mapping[str, Any]) -> None:
        with self._db.write() as conn:
            self._db.upsert(conn, sources, [{"name": source, "state": dict(state)}])
