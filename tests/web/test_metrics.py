"""GET /metrics: Prometheus text with process counters and figures read from the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient

from syndicator import metrics
from syndicator.store import Store
from syndicator.web.metrics import metrics_routes
from tests.web.webhook_signing import NOW, Sample, make_sample


@pytest.fixture
def sample(store_url: str) -> Iterator[Sample]:
    store = Store.open(store_url)
    try:
        yield make_sample(store)
    finally:
        store.close()


def scrape(store: Store) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    app = Starlette(routes=metrics_routes(store, newsletters=["weekly", "monthly"]))
    answer = TestClient(app).get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def test_store_figures(sample: Sample) -> None:
    sample.store.create_edition(
        "monthly", "Monthly 1", [], "<p/>", NOW, [(sample.subscriber_id, sample.email, "")]
    )
    values = scrape(sample.store)
    assert values[("syndicator_store_up", ())] == 1
    assert values[("syndicator_queue_depth", ())] == 1
    assert values[("syndicator_deliveries", (("status", "sent"),))] == 2
    assert values[("syndicator_deliveries", (("status", "pending"),))] == 1
    assert values[("syndicator_latest_edition_number", (("newsletter", "weekly"),))] == 1
    assert values[("syndicator_latest_edition_number", (("newsletter", "monthly"),))] == 1


def test_counters_move(sample: Sample) -> None:
    before = scrape(sample.store)
    metrics.count_sent(3)
    metrics.count_failed("Rejected", 2)
    metrics.count_failed("rejected")
    metrics.count_edition("weekly")
    metrics.observe_collect(1.5)
    metrics.count_webhook_events("ses", "suppressed")
    after = scrape(sample.store)

    def moved(name: str, *labels: tuple[str, str]) -> float:
        key = (name, tuple(sorted(labels)))
        return after[key] - before.get(key, 0.0)

    assert moved("syndicator_messages_sent_total") == 3
    assert moved("syndicator_messages_failed_total", ("reason", "rejected")) == 3
    assert moved("syndicator_editions_created_total", ("newsletter", "weekly")) == 1
    assert moved("syndicator_collect_duration_seconds_count") == 1
    assert moved("syndicator_collect_duration_seconds_sum") == 1.5
    assert (
        moved("syndicator_webhook_events_total", ("outcome", "suppressed"), ("provider", "ses"))
        == 1
    )


def test_store_down_reported(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    with Store.open(url) as store:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE deliveries")
        engine.dispose()
        values = scrape(store)
    assert values[("syndicator_store_up", ())] == 0
    assert ("syndicator_queue_depth", ()) not in values
