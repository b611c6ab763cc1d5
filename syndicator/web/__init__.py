"""The web app `serve` runs: subscribe, confirm, unsubscribe, preferences, archive, feeds,
webhooks, metrics and the health check (see syndicator.web.app)."""

from __future__ import annotations

from syndicator.web.app import build_app, feed_media_type

__all__ = ["build_app", "feed_media_type"]
