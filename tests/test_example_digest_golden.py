"""Golden digest of the bundled example site: the .eml a real run leaves in the outbox.

Volatile parts are scrubbed before comparing: Date, Message-ID, the MIME boundary and the
signed tokens (they carry a timestamp). SYNDICATOR_UPDATE_GOLDEN=1 rewrites the goldens.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndicator import config
from syndicator.editions import make_edition
from syndicator.jobs import deliver
from syndicator.model import SubscriberStatus
from syndicator.pipeline import collect
from syndicator.store import Store
from tests.conftest import check_golden
from tests.test_editions import make_settings

GOLDEN = Path(__file__).resolve().parent / "golden" / "example"
EDITION_TIME = datetime(2026, 1, 19, 9, 0, tzinfo=ZoneInfo("Asia/Seoul"))  # a Monday slot


def scrub(text: str) -> str:
    text = re.sub(r"^Date: .*$", "Date: <date>", text, flags=re.M)
    text = re.sub(r"<[0-9a-f]{32}@", "<delivery-id@", text)
    text = re.sub(r'boundary="?([^";\r\n]+)"?', 'boundary="<boundary>"', text)
    boundary = re.search(r"^--(=_[0-9a-f]+)", text, flags=re.M)
    if boundary:
        text = text.replace(boundary.group(1), "<boundary>")
    return re.sub(r"/(unsubscribe|preferences)/[A-Za-z0-9_.=-]+", r"/\1/<token>", text)


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digest")
    settings = make_settings(root, f"sqlite:///{root / 'db.sqlite'}")
    settings = config.load(settings.path, env={"SYNDICATOR_SECRET_KEY": "golden-key"})
    with Store.open(settings.database.url) as store:
        collect(settings, store, EDITION_TIME - timedelta(days=1))
        store.add_subscriber(
            "reader@example.com",
            name="독자",
            newsletters=("weekly",),
            status=SubscriberStatus.ACTIVE,
            now=EDITION_TIME,
        )
        edition = make_edition(
            settings, store, settings.newsletter("weekly"), EDITION_TIME, force=True
        )
        assert edition is not None
        report = deliver(settings, store, lambda: EDITION_TIME + timedelta(hours=30), quiet=True)
        assert report.sent == 1
    return settings.mail.outbox


def test_example_digest_eml(outbox: Path) -> None:
    [eml] = outbox.glob("*.eml")
    raw = eml.read_bytes()
    assert b"\r\n" in raw and b"\n\n" not in raw.replace(b"\r\n", b"")  # CRLF on the wire
    check_golden(GOLDEN / "weekly-1.eml", scrub(raw.decode("utf-8").replace("\r\n", "\n")))


def test_example_digest_parts(outbox: Path) -> None:
    [eml] = outbox.glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    check_golden(GOLDEN / "weekly-1.txt", scrub(text.get_content().replace("\r\n", "\n")))
    check_golden(GOLDEN / "weekly-1.html", scrub(html.get_content().replace("\r\n", "\n")))
    # sent 30 hours late, the mail still carries the edition's date
    assert "2026년 1월 19일" in text.get_content()
