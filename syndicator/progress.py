"""Progress for long work: a live line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time

__all__ = ["Bar"]


class Bar:
    """Call ``update(done, total)`` as work proceeds; ``close()`` when finished."""

    def __init__(self, label: str, *, enabled: bool = True, every: float = 5.0) -> None:
        self.label = label
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.every = every
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        if self.tty:
            if now - self.last >= 0.1 or done >= total:
                share = f"{100 * done / total:5.1f}%" if total else ""
                sys.stderr.write(f"\r{self.label}: {done}/{total} {share} {rate:,.0f}/s ")
                sys.stderr.flush()
                self.shown = True
                self.last = now
        elif now - self.last >= self.every:
            print(f"{self.label}: {done}/{total} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
            self.last = now

    def close(self) -> None:
        if self.tty and self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
