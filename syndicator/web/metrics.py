"""GET /metrics: Prometheus text with the process counters and figures read from the store."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from syndicator import metrics
from syndicator.errors import SyndicatorError
from syndicator.store import Store

__all__ = ["StoreCollector", "metrics_routes"]

log = logging.getLogger(__name__)


class StoreCollector(Collector):
    """Gauges read at scrape time: deliveries by status, queue depth, latest edition numbers."""

    def __init__(self, store: Store, newsletters: Sequence[str] = ()) -> None:
        self._store = store
        self._newsletters = tuple(newsletters)

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("syndicator_store_up", "1 when the database answered the scrape.")
        try:
            counts = self._store.delivery_counts()
            pending = self._store.pending_count()
            latest = {}
            for name in self._newsletters:
                found = self._store.editions(name, limit=1)
                latest[name] = found[0].number if found else 0
        except SyndicatorError as exc:
            log.warning("metrics store read failed error=%s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        deliveries = GaugeMetricFamily(
            "syndicator_deliveries", "Delivery rows by status.", labels=["status"]
        )
        for status, n in sorted(counts.items()):
            deliveries.add_metric([status], n)
        yield deliveries
        queue = GaugeMetricFamily(
            "syndicator_queue_depth", "Pending deliveries, due now or waiting for a retry."
        )
        queue.add_metric([], pending)
        yield queue
        if latest:
            editions = GaugeMetricFamily(
                "syndicator_latest_edition_number",
                "Number of each newsletter's newest edition (0: none yet).",
                labels=["newsletter"],
            )
            for name, number in latest.items():
                editions.add_metric([name], number)
            yield editions


class _Counters(Collector):
    """The process-wide counters of syndicator.metrics, exposed through this registry."""

    def collect(self) -> Iterable[Metric]:
        yield from metrics.REGISTRY.collect()


def metrics_routes(store: Store, newsletters: Sequence[str] = ()) -> list[BaseRoute]:
    """The GET /metrics route (mount it where only the monitoring system can reach it)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Counters())
    registry.register(StoreCollector(store, newsletters))

    async def endpoint(request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", endpoint, methods=["GET"], name="metrics")]
