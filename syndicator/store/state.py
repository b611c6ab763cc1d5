"""Small keyed records: the render cache and free-form key-value state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from syndicator.store.bulk import chunks, select_all
from syndicator.store.database import Database
from syndicator.store.schema import kv_state, renders

__all__ = ["StateRecords"]


class StateRecords:
    """Rendered HTML by content hash + renderer version, and key-value run state."""

    _db: Database

    def cached_renders(self, keys: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """key -> (content_html, summary_html, summary_text) for the keys in the cache."""
        found: dict[str, tuple[str, str, str]] = {}
        with self._db.read() as conn:
            for part in chunks(list(dict.fromkeys(keys))):
                query = sa.select(renders).where(renders.c.key.in_(part))
                for key, content_html, summary_html, summary_text in select_all(conn, query):
                    found[key] = (content_html, summary_html, summary_text)
        return found

    def cache_renders(self, items: Mapping[str, tuple[str, str, str]]) -> None:
        rows = [
            {"key": key, "content_html": c, "summary_html": s, "summary_text": t}
            for key, (c, s, t) in items.items()
        ]
        with self._db.write() as conn:
            for part in chunks(rows):
                self._db.upsert(conn, renders, part)

    def get_state(self, key: str) -> str | None:
        return self.get_states([key]).get(key)

    def get_states(self, keys: Sequence[str]) -> dict[str, str]:
        """key -> value of the keys that are set, in one read."""
        with self._db.read() as conn:
            query = sa.select(kv_state.c.key, kv_state.c.value).where(kv_state.c.key.in_(keys))
            return {key: str(value) for key, value in select_all(conn, query)}

    def set_state(self, key: str, value: str) -> None:
        self.set_states({key: value})

    def set_states(self, values: Mapping[str, str]) -> None:
        """Set many keys in one transaction."""
        with self._db.write() as conn:
            self._db.upsert(conn, kv_state, [{"key": k, "value": v} for k, v in values.items()])
