"""The store: posts, render cache, subscribers, editions and deliveries on SQLite or PostgreSQL."""

from __future__ import annotations

from syndicator.store.database import Conflict
from syndicator.store.editions import NewsletterState
from syndicator.store.posts import CollectResult
from syndicator.store.store import Store
from syndicator.store.subscribers import Suppression

__all__ = ["CollectResult", "Conflict", "NewsletterState", "Store", "Suppression"]
