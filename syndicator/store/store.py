"""The Store facade: one object over posts, state, subscribers, editions and deliveries."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from types import TracebackType

from syndicator.store.database import Database
from syndicator.store.deliveries import DeliveryRecords
from syndicator.store.editions import EditionRecords
from syndicator.store.posts import PostRecords
from syndicator.store.sending import SendingRecords
from syndicator.store.state import StateRecords
from syndicator.store.subscribers import SubscriberRecords
from syndicator.store.webhook_events import WebhookEventRecords

__all__ = ["Store"]

log = logging.getLogger(__name__)


class Store(
    PostRecords,
    StateRecords,
    SubscriberRecords,
    EditionRecords,
    DeliveryRecords,
    SendingRecords,
    WebhookEventRecords,
):
    """Everything syndicator keeps, on SQLite or PostgreSQL; open it with ``Store.open(url)``."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect, migrate to the newest schema (safe from two processes at once), return."""
        database = Database.connect(url)
        try:
            database.check_connection()
            database.migrate()
        except BaseException:
            database.dispose()
            raise
        log.info("store opened dialect=%s", database.engine.dialect.name)
        return cls(database)

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self._db.engine.dialect.name

    def ping(self) -> bool:
        """True when the database answers (for /healthz)."""
        return self._db.ping()

    def lock(self, name: str, *, wait: bool = True) -> AbstractContextManager[bool]:
        """A named lock across processes; yields False at once when busy and ``wait`` is False."""
        return self._db.lock(name, wait=wait)

    def close(self) -> None:
        self._db.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
