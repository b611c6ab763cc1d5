"""Sources turn a site folder or a remote feed into Posts; chosen by ``type`` from one registry.

A source is incremental: it gets the stamps it reported last time (origin -> stamp, where an
origin is a file path or a feed entry key) and reports which origins are unchanged, so the
store keeps their posts and nothing is parsed twice. A source never raises for one bad post:
it reports a SourceError in ``problems`` and goes on with the rest.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from syndicator.config import SiteSettings, SourceSettings
from syndicator.errors import ConfigError, SourceError
from syndicator.model import Post

__all__ = ["SOURCES", "Collection", "Source", "collect_all", "open_source"]


@dataclass(frozen=True, slots=True)
class Collection:
    """What one collection of one source found."""

    source: str
    changed: tuple[Post, ...] = ()  # posts read this time (new, edited, or re-read)
    unchanged: frozenset[str] = frozenset()  # origins whose stamp matched: keep the stored post
    problems: tuple[SourceError, ...] = ()
    stamps: Mapping[str, str] = field(default_factory=dict)  # origin -> stamp, for every post
    origins: Mapping[str, str] = field(default_factory=dict)  # origin -> post id, for `changed`
    complete: bool = True  # True: a stored origin not seen now is gone (a deleted file)
    state: Mapping[str, Any] = field(default_factory=dict)  # JSON-able, given back next time
    failed: bool = False  # the whole source could not be read this time (nothing is removed)


class Source(Protocol):
    name: str

    def collect(
        self, known: Mapping[str, str], state: Mapping[str, Any], now: datetime
    ) -> Collection: ...


# type -> "module:Class"; each class is constructed as Class(source_settings, site_settings)
SOURCES: dict[str, str] = {
    "jekyll": "syndicator.sources.jekyll:JekyllSource",
    "hugo": "syndicator.sources.hugo:HugoSource",
    "feed": "syndicator.sources.feed:FeedSource",
}


def open_source(settings: SourceSettings, site: SiteSettings) -> Source:
    target = SOURCES.get(settings.type)
    if target is None:
        raise ConfigError(
            f"{settings.type!r} is not a source type; valid: {', '.join(sorted(SOURCES))}",
            key=f"sources.{settings.name}.type",
        )
    module_name, _, class_name = target.partition(":")
    module = importlib.import_module(module_name)
    source: Source = getattr(module, class_name)(settings, site)
    return source


def collect_all(
    sources: Sequence[Source],
    known: Mapping[str, Mapping[str, str]],
    states: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> list[Collection]:
    """Collect every source; remote feeds are fetched together, concurrently."""
    remote = [s for s in sources if type(s).__module__ == "syndicator.sources.feed"]
    results: dict[str, Collection] = {}
    if remote:
        from syndicator.sources.feed import collect_feeds

        for collection in collect_feeds(remote, known, states, now):
            results[collection.source] = collection
    for source in sources:
        if source.name not in results:
            results[source.name] = source.collect(
                known.get(source.name, {}), states.get(source.name, {}), now
            )
    return [results[s.name] for s in sources]
