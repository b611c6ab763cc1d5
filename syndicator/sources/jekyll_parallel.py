"""Reading many Jekyll post files at once: split over forked workers on a multi-core machine.

A first collection reads every post (YAML front matter, Liquid, permalinks): ~0.5 ms each,
a second per 2,000 posts. With more than ``PARALLEL_FILES`` files to read, forked workers
(one per core, at most four) read them; fewer stay in this process, where starting workers
would cost more than it saves. Workers are forked only from a single-threaded process.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["PARALLEL_FILES", "map_files", "worker_count"]

PARALLEL_FILES = 200
_MAX_WORKERS = 4

_T = TypeVar("_T")
_R = TypeVar("_R")

# What forked workers inherit: the function and its items, set just before the pool forks.
_shared: dict[str, Any] = {}


def worker_count() -> int:
    """Worker processes to use here: 0 when forking is unavailable or unsafe."""
    if sys.platform != "linux" or threading.active_count() != 1:
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return min(cores, _MAX_WORKERS) if cores > 1 else 0


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    function, items = _shared["function"], _shared["items"]
    return [function(item) for item in items[bounds[0] : bounds[1]]]


def map_files(function: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``[function(item) for item in items]``, in worker processes when there are many items.

    ``function`` and ``items`` reach the workers by fork, not by pickling; the results come
    back pickled.
    """
    workers = worker_count() if len(items) >= PARALLEL_FILES else 0
    if not workers:
        return [function(item) for item in items]
    import multiprocessing  # loaded only when there are workers to start
    from concurrent.futures import ProcessPoolExecutor

    size = max(1, len(items) // (workers * 4))
    bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    _shared.update(function=function, items=items)
    gc.freeze()  # the workers' collections leave inherited objects (and their pages) alone
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = list(pool.map(_run_chunk, bounds))
    finally:
        gc.unfreeze()
        _shared.clear()
    return [result for part in parts for result in part]
