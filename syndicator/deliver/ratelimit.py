"""A process-wide token bucket that caps messages per second across all sending threads."""

from __future__ import annotations

import threading

from syndicator.deliver.http import SYSTEM_CLOCK, Clock

__all__ = ["TokenBucket", "process_bucket"]


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; rate 0 means unlimited.

    A request larger than the burst goes into debt, so batches bigger than one second's worth
    still pass, just later.
    """

    def __init__(self, rate: float, burst: float | None = None, clock: Clock | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self.clock: Clock = clock or SYSTEM_CLOCK
        self._tokens = self.burst
        self._stamp = self.clock.monotonic()
        self._lock = threading.Lock()

    def acquire(self, count: float = 1.0) -> float:
        """Take ``count`` tokens, sleeping until they are earned; returns the seconds slept."""
        if self.rate <= 0 or count <= 0:
            return 0.0
        with self._lock:
            now = self.clock.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= count
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self.clock.sleep(wait)
        return wait


_buckets: dict[float, TokenBucket] = {}
_buckets_lock = threading.Lock()


def process_bucket(rate: float) -> TokenBucket:
    """The one bucket for ``[mail] rate`` in this process, shared by every backend instance."""
    with _buckets_lock:
        bucket = _buckets.get(rate)
        if bucket is None:
            bucket = _buckets[rate] = TokenBucket(rate)
        return bucket
