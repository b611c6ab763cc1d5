"""Remote RSS/Atom/JSON feeds as a source: fetched together, politely, and read incrementally.

Per-feed state (JSON, kept by the store) holds the current URL, HTTP validators, failure count
and next attempt time, whether the feed is gone (410), and first-seen times of undated entries.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from syndicator import __version__
from syndicator.config import SiteSettings, SourceSettings
from syndicator.errors import ConfigError, SourceError
from syndicator.sources import Collection, Source
from syndicator.sources.fetch import FetchRequest, FetchResult, fetch_all

if TYPE_CHECKING:  # multiprocessing (≈ 30 ms to import) loads only to fork parse workers
    from concurrent.futures import ProcessPoolExecutor

    from syndicator.sources.feedmap import MappedFeed

__all__ = ["FeedSource", "collect_feeds"]

log = logging.getLogger(__name__)

CONCURRENCY = 32  # requests in flight over all hosts
PARALLEL_MIN = 40  # bodies expected, from which they are parsed in worker processes
MAX_WORKERS = 4
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


@dataclass(frozen=True, slots=True)
class _Digest:
    """What became of one fetched body: mapped posts, or why the feed cannot be read."""

    mapped: MappedFeed | None = None
    warning: str | None = None
    error: str = ""


def _digest(
    body: bytes,
    content_type: str,
    url: str,
    source: str,
    feed_url: str,
    first_seen: Mapping[str, str],
    now: datetime,
) -> _Digest:
    """Parse, map and sanitize one body; a worker process runs this for big collections."""
    # Imported on the first body (lxml, nh3): a run of 304s does without.
    from syndicator.sources.feedmap import map_entries
    from syndicator.sources.feedparse import parse_feed

    try:
        parsed = parse_feed(body, content_type, url)
    except SourceError as exc:
        return _Digest(error=exc.reason)
    mapped = map_entries(parsed, source=source, feed_url=feed_url, first_seen=first_seen, now=now)
    for post in mapped.posts.values():
        _ = post.content_hash  # cached on the post, so it travels back with it
    return _Digest(mapped=mapped, warning=parsed.warning)


def _digest_fetched(
    source: FeedSource, state: Mapping[str, Any], result: FetchResult, now: datetime
) -> _Digest:
    first_seen = state.get("first_seen", {})
    return _digest(
        result.body, result.content_type, result.url, source.name, source.url, first_seen, now
    )


def _success(
    source: FeedSource,
    known: Mapping[str, str],
    state: dict[str, Any],
    result: FetchResult,
    now: datetime,
    digest: _Digest | None = None,
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
    if digest is None:
        digest = _digest_fetched(source, state, result, now)
    if digest.mapped is None:
        state.pop("etag")  # refetch in full next time, whatever the server says
        state.pop("last_modified")
        return _failure(source, known, state, result.url, digest.error, result.status, now)
    _recovered(state)
    if digest.warning:
        log.warning("feed recovered source=%s url=%s: %s", source.name, result.url, digest.warning)
    mapped = digest.mapped
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


def _validators(state: Mapping[str, Any]) -> bool:
    return bool(state.get("etag") or state.get("last_modified"))


def _worker_count(expected: int, workers: int | None) -> int:
    """Processes to parse bodies in; 0: in this one (few bodies, threads present, no fork)."""
    if workers is None:
        if expected < PARALLEL_MIN or threading.active_count() > 1:
            return 0  # forking a process that has other threads can deadlock the child
        import multiprocessing

        if "fork" not in multiprocessing.get_all_start_methods():
            return 0
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
    return workers if workers > 1 else 0


def _start_pool(workers: int) -> ProcessPoolExecutor | None:
    """Fork the workers now, before the fetching threads exist."""
    if not workers:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # The parsers load here once, shared by the workers, instead of once in each.
    from syndicator.sources import feedmap, feedxml  # noqa: F401

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    pool.submit(int).result()  # a fork context starts every worker on the first submit
    log.debug("feed parsing in worker processes workers=%d", workers)
    return pool


def collect_feeds(
    sources: Sequence[Source],
    known: Mapping[str, Mapping[str, str]],
    states: Mapping[str, Mapping[str, Any]],
    now: datetime,
    concurrency: int = CONCURRENCY,
    workers: int | None = None,
) -> list[Collection]:
    """Collect every feed with one concurrent fetch; one feed's failure never stops the others.

    Big runs parse each body in a worker process as soon as it arrives (``workers``: how
    many; None decides from the run's size), so parsing overlaps fetching and uses every core.
    """
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
    # Bodies are expected from feeds fetched without validators; a conditional GET mostly
    # gets a 304, and the few feeds that changed are parsed here without forking for them.
    unconditional = sum(1 for _, state in pending if not _validators(state))
    pool = _start_pool(_worker_count(unconditional, workers))
    parsing: dict[int, Future[_Digest]] = {}

    def digest_in_pool(index: int, result: FetchResult) -> None:
        if pool is None or result.error or result.not_modified:
            return
        source, state = pending[index]
        args = (result.body, result.content_type, result.url, source.name, source.url)
        try:
            parsing[index] = pool.submit(_digest, *args, state.get("first_seen", {}), now)
        except BrokenExecutor:  # a worker died (killed?): parse here after the fetch
            log.warning("feed parsing worker died source=%s; parsing in-process", source.name)

    requests = [s.request(state) for s, state in pending]
    digests: dict[int, _Digest] = {}
    try:
        fetched = fetch_all(requests, concurrency, digest_in_pool if pool else None)
        for index, future in parsing.items():
            try:
                digests[index] = future.result()
            except BrokenExecutor:
                log.warning(
                    "feed parsing worker died source=%s; parsing in-process", pending[index][0].name
                )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    for index, ((source, state), result) in enumerate(zip(pending, fetched, strict=True)):
        own = known.get(source.name, {})
        if result.error:
            results[source.name] = _failure(
                source, own, state, result.url, result.error, result.status, now
            )
        else:
            results[source.name] = _success(source, own, state, result, now, digests.get(index))
    return [results[s.name] for s in feeds]
