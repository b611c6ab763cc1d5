"""A simulated clock: sleeping advances time at once, so a 30-minute outage takes milliseconds."""

from __future__ import annotations

import threading


class FakeClock:
    """Implements syndicator.deliver.http.Clock; thread-safe, records every sleep."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def time(self) -> float:
        return self.monotonic()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)
