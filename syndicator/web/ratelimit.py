"""In-process sliding-window rate limits against list-bombing (per client IP, per address)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Limit", "RateLimiter", "SubscribeLimits"]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` events per ``seconds`` for one key."""

    count: int
    seconds: float


@dataclass(frozen=True, slots=True)
class SubscribeLimits:
    """Subscribe POSTs per client IP, and confirmation emails per address."""

    per_ip: Limit = Limit(10, 600.0)
    per_address: Limit = Limit(3, 86_400.0)


class RateLimiter:
    """Counts events per key in a sliding window; forgets the least recently used keys first.

    One process only: behind several workers each keeps its own counts (documented limit).
    """

    def __init__(
        self,
        limit: Limit,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Record an event; 0.0 when allowed, else seconds until the next one would be."""
        now = self._clock()
        with self._lock:
            events = self._events.pop(key, None) or deque()
            while events and events[0] <= now - self.limit.seconds:
                events.popleft()
            if len(events) >= self.limit.count:
                self._events[key] = events
                return max(events[0] + self.limit.seconds - now, 0.001)
            events.append(now)
            self._events[key] = events  # most recently used last
            while len(self._events) > self._max_keys:
                self._events.popitem(last=False)
            return 0.0
