"""Remote RSS/Atom/JSON feeds as a source: fetched together, politely, and read incrementally.

Per-feed state (JSON, kept by the store) holds the current URL, HTTP validators, failure count
and next attempt time, whether the feed is gone (410), and first-seen times of undated entries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from syndicator import __version__
from syndicator.config import SiteSettings, SourceSettings
from syndicator.errors import ConfigError, SourceError
from syndicator.sources import Collection, Source
from syndicator.sources.feedmap import map_entries
from syndicator.sources.feedparse import parse_feed
from syndicator.sources.fetch import FetchRequest, FetchResult, fetch_all

__all__ = ["FeedSource", "collect_feeds"]

log = logging.getLogger(__name__)

CONCURRENCY = 32  # requests in flight over all hosts
BACKOFF_START = timedelta(minutes=30)  # wait after the second failure in a row; doubles after
BACKOFF_MAX = timedelta(days=1)
_OPTIONS: dict[str, tuple[type, Any]] = {
    "user_agent": (str, ""),
    "timeout": (float, 20.0),
    "max_bytes": (int, 10 * 1024 * 1024),
    "per_host": (int, 4),
    "max_redirects": (int, 5),
}


def _read_options(settings: SourceSettings) -> dict[str, Any]:
    """Validate the feed's extra TOML keys (see ``_OPTIONS``)."""
    values: dict[str, Any] = {}
    for key, raw in settings.options.items():
        where = f"sources.{settings.name}.{key}"
        if key not in _OPTIONS:
            raise ConfigError(
                f"unknown setting; feed sources take {', '.join(_OPTIONS)}", key=where
            )
        kind = _OPTIONS[key][0]
        value: Any = raw
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        valid = isinstance(value, kind) and not isinstance(value, bool)
        if not valid or (kind is not str and value <= 0):
            raise ConfigError(f"{raw!r} must be a positive {kind.__name__}", key=where)
        values[key] = value
    return values


class FeedSource:
    """One remote feed (``settings.url``)."""

    def __init__(self, settings: SourceSettings, site: SiteSettings) -> None:
        if not settings.url:
            raise ConfigError("a feed source needs url", key=f"sources.{settings.name}.url")
        self.name = settings.name
        self.url = settings.url
        values = _read_options(settings)
        agent = f"syndicator/{__version__} (+{site.url or 'https://github.com/'})"
        self.user_agent: str = values.get("user_agent") or agent
        self.timeout: float = values.get("timeout", _OPTIONS["timeout"][1])
        self.max_bytes: int = values.get("max_bytes", _OPTIONS["max_bytes"][1])
        self.per_host: int = values.get("per_host", _OPTIONS["per_host"][1])
        self.max_redirects: int = values.get("max_redirects", _OPTIONS["max_redirects"][1])

    def collect(
        self, known: Mapping[str, str], state: Mapping[str, Any], now: datetime
    ) -> Collection:
        return collect_feeds([self], {self.name: known}, {self.name: state}, now)[0]

    def request(self, state: Mapping[str, Any]) -> FetchRequest:
        return FetchRequest(
            url=str(state.get("url") or self.url),
            user_agent=self.user_agent,
            etag=state.get("etag"),
            last_modified=state.get("last_modified"),
            timeout=self.timeout,
            max_bytes=self.max_bytes,
            max_redirects=self.max_redirects,
            per_host=self.per_host,
        )


def _fresh_state(source: FeedSource, state: Mapping[str, Any]) -> dict[str, Any]:
    """The stored state, reset when the configured URL changed since it was written."""
    if state.get("configured") != source.url:
        return {
            "configured": source.url,
            "url": source.url,
            "first_seen": dict(state.get("first_seen", {})),
        }
    return dict(state)


def _kept(
    source: FeedSource, known: Mapping[str, str], state: dict[str, Any], **kw: Any
) -> Collection:
    """A collection that keeps every stored post as it is."""
    return Collection(
        source=source.name,
        unchanged=frozenset(known),
        stamps=dict(known),
        complete=False,
        state=state,
        **kw,
    )


def _failure(
    source: FeedSource,
    known: Mapping[str, str],
    state: dict[str, Any],
    url: str,
    reason: str,
    status: int,
    now: datetime,
) -> Collection:
    failures: int = int(state.get("failures", 0)) + 1
    state.update(failures=failures, error=reason, last_attempt=now.isoformat())
    if status == 410:
        state["gone"] = True
        log.warning("feed gone source=%s url=%s: HTTP 410, no longer polled", source.name, url)
        reason = "HTTP 410 Gone: the feed was removed; it will not be polled again"
    elif failures >= 2:
        delay = min(BACKOFF_START * 2 ** (failures - 2), BACKOFF_MAX)
        state["next_attempt"] = (now + delay).isoformat()
        log.warning(
            "feed failed source=%s url=%s failures=%d retry_at=%s reason=%s",
            source.name,
            url,
            failures,
            state["next_attempt"],
            reason,
        )
    else:
        log.warning("feed failed source=%s url=%s reason=%s", source.name, url, reason)
    return _kept(source, known, state, failed=True, problems=(SourceError(reason, origin=url),))


def _skip(
    source: FeedSource, known: Mapping[str, str], state: dict[str, Any], now: datetime
) -> Collection | None:
    """Return a do-nothing collection when the feed is gone or backing off, else None."""
    if state.get("gone"):
        log.info("feed skipped source=%s url=%s reason=gone (HTTP 410)", source.name, state["url"])
        gone = SourceError(
            "gone (HTTP 410): not polled any more; remove it from the config",
            origin=str(state["url"]),
        )
        return _kept(source, known, state, problems=(gone,))
    retry = state.get("next_attempt")
    if retry and datetime.fromisoformat(retry) > now:
        log.info(
            "feed skipped source=%s url=%s reason=backing-off failures=%s retry_at=%s",
            source.name,
            state["url"],
            state.get("failures"),
            retry,
        )
        return _kept(source, known, state)
    return None


def _recovered(state: dict[str, Any]) -> None:
    for key in ("failures", "error", "next_attempt"):
        state.pop(key, None)


def _success(
    source: FeedSource,
    known: Mapping[str, str],
    state: dict[str, Any],
    result: FetchResult,
    now: datetime,
) -> Collection:
    state["last_attempt"] = now.isoformat()
    if result.moved_to:
        log.warning(
            "feed moved permanently source=%s from=%s to=%s (update the config)",
            source.name,
            state["url"],
            result.moved_to,
        )
        state["url"] = result.moved_to
    if result.not_modified:
        _recovered(state)
        log.info("feed not modified source=%s url=%s", source.name, state["url"])
        return _kept(source, known, state)
    state["etag"] = result.etag
    state["last_modified"] = result.last_modified
    try:
        parsed = parse_feed(result.body, result.content_type, result.url)
    except SourceError as exc:
        state.pop("etag")  # refetch in full next time, whatever the server says
        state.pop("last_modified")
        return _failure(source, known, state, result.url, exc.reason, result.status, now)
    _recovered(state)
    if parsed.warning:
        log.warning("feed recovered source=%s url=%s: %s", source.name, result.url, parsed.warning)
    mapped = map_entries(
        parsed,
        source=source.name,
        feed_url=source.url,
        first_seen=state.get("first_seen", {}),
        now=now,
    )
    state["first_seen"] = mapped.first_seen
    stamps = dict(known)
    changed = []
    origins: dict[str, str] = {}
    unchanged = set(known) - set(mapped.posts)  # dropped out of the feed: kept, not deleted
    for origin, post in mapped.posts.items():
        stamp = post.content_hash
        stamps[origin] = stamp
        if known.get(origin) == stamp:
            unchanged.add(origin)
        else:
            changed.append(post)
            origins[origin] = post.id
    log.info(
        "feed collected source=%s url=%s entries=%d changed=%d",
        source.name,
        result.url,
        len(mapped.posts),
        len(changed),
    )
    return Collection(
        source=source.name,
        changed=tuple(changed),
        unchanged=frozenset(unchanged),
        problems=mapped.problems,
        stamps=stamps,
        origins=origins,
        complete=False,
        state=state,
    )


def collect_feeds(
    sources: Sequence[Source],
    known: Mapping[str, Mapping[str, str]],
    states: Mapping[str, Mapping[str, Any]],
    now: datetime,
    concurrency: int = CONCURRENCY,
) -> list[Collection]:
    """Collect every feed with one concurrent fetch; one feed's failure never stops the others."""
    results: dict[str, Collection] = {}
    pending: list[tuple[FeedSource, dict[str, Any]]] = []
    feeds = [s for s in sources if isinstance(s, FeedSource)]
    for source in feeds:
        state = _fresh_state(source, states.get(source.name, {}))
        skipped = _skip(source, known.get(source.name, {}), state, now)
        if skipped is not None:
            results[source.name] = skipped
        else:
            pending.append((source, state))
    fetched = fetch_all([s.request(state) for s, state in pending], concurrency)
    for (source, state), result in zip(pending, fetched, strict=True):
        own = known.get(source.name, {})
        if result.error:
            results[source.name] = _failure(
                source, own, state, result.url, result.error, result.status, now
            )
        else:
            results[source.name] = _success(source, own, state, result, now)
    return [results[s.name] for s in feeds]
