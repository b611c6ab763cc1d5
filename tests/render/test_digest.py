"""The digest: goldens (HTML, text, .eml), render once per variant, personal parts per reader."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from pathlib import Path

import premailer
import pytest

from syndicator.deliver.mime import message_bytes
from syndicator.render.digest import DigestRenderer, DigestVariant
from syndicator.tokens import TokenSigner
from tests.conftest import check_golden
from tests.render.digest_samples import CREATED, ENTRIES, KEYS, NEWSLETTER, settings, subscriber

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "digest"
_TOKEN = re.compile(r"/(unsubscribe|preferences)/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def scrub(text: str) -> str:
    """Replace what changes per run: signed tokens (they carry a timestamp), Date, boundary."""
    text = _TOKEN.sub(r"/\1/TOKEN", text)
    text = re.sub(r"unsubscribe%20[A-Za-z0-9_.-]+", "unsubscribe%20TOKEN", text)
    text = re.sub(r"^Date: .*$", "Date: DATE", text, flags=re.M)
    return re.sub(r"=_[0-9a-f]{24}", "=_BOUNDARY", text)


@pytest.fixture
def renderer(tmp_path: Path) -> DigestRenderer:
    return DigestRenderer(settings(tmp_path, mailto="unsubscribe@blog.example.com"), NEWSLETTER)


@pytest.fixture
def variant(renderer: DigestRenderer) -> DigestVariant:
    return renderer.render_variant(ENTRIES, edition_number=3, language="ko", created=CREATED)


@pytest.fixture
def premailer_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    calls: list[int] = []
    transform = premailer.Premailer.transform

    def counted(self: premailer.Premailer, *args: object, **kwargs: object) -> str:
        calls.append(1)
        result: str = transform(self, *args, **kwargs)
        return result

    monkeypatch.setattr(premailer.Premailer, "transform", counted)
    yield calls


def test_golden_korean_digest(renderer: DigestRenderer, variant: DigestVariant) -> None:
    message = renderer.personalize(
        variant, subscriber(7), delivery_id="3-7", signer=TokenSigner(KEYS)
    )
    check_golden(GOLDEN / "weekly-3.ko.html", scrub(str(message.html)))
    check_golden(GOLDEN / "weekly-3.ko.txt", scrub(str(message.text)))
    raw = message_bytes(message)
    # compared with LF line ends: the golden file is text; the CRLF is asserted below
    check_golden(GOLDEN / "weekly-3.ko.eml", scrub(raw.decode("utf-8")).replace("\r\n", "\n"))
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_golden_english_digest(renderer: DigestRenderer) -> None:
    variant = renderer.render_variant(
        ENTRIES[2:], edition_number=3, language="en-US", created=CREATED
    )
    message = renderer.personalize(
        variant,
        subscriber(8, name="", language="en"),
        delivery_id="3-8",
        signer=TokenSigner(KEYS),
    )
    check_golden(GOLDEN / "weekly-3.en.txt", scrub(str(message.text)))
    assert variant.language == "en"
    assert "January 17, 2026" in str(message.text)
    assert "Hello," in str(message.text)


def test_archive_copy_has_no_personal_parts(
    renderer: DigestRenderer, variant: DigestVariant
) -> None:
    archive = renderer.render_archive_html(variant)
    check_golden(GOLDEN / "weekly-3.archive.html", archive)
    assert "unsubscribe" not in archive and "preferences" not in archive
    assert "reader7@example.org" not in archive
    assert not re.findall(r"syn[0-9a-f]{20}", archive)  # no marker left unfilled
    assert "공장으로 간 로봇 팔" in archive


def test_content_of_the_html(variant: DigestVariant) -> None:
    html = variant.html
    # premailer inlined the rules onto the elements and kept the media queries for phones
    assert 'class="post-title"' in html and "font-size:20px" in html
    assert "@media only screen and (max-width: 620px)" in html
    assert "prefers-color-scheme: dark" in html
    assert "<!--[if mso]>" in html  # Outlook's fixed width
    # each post: linked title, date in Seoul, image absolute and width-limited with alt text
    assert 'href="https://blog.example.com/news/2026-01-12-robots/"' in html
    assert "2026년 1월 12일" in html  # 08:30 in Seoul on the 12th, still the 11th in UTC
    assert re.search(r'<img[^>]+src="https://blog.example.com/images/news/robot-arm.png"', html)
    assert re.search(r'<img[^>]+alt="공장으로 간 로봇 팔', html)
    assert "Open weights &amp; the &lt;small&gt; print" in html
    assert "https://news.example.com/archive/weekly/3" in html
    assert "서울특별시 중구 세종대로 110" in html
    assert all(len(line.encode()) <= 998 for line in html.split("\n"))


def test_premailer_runs_once_per_variant_not_per_reader(
    renderer: DigestRenderer, premailer_calls: list[int]
) -> None:
    signer = TokenSigner(KEYS)
    variants = [
        renderer.render_variant(ENTRIES, edition_number=4, language="ko"),
        renderer.render_variant(ENTRIES[:1], edition_number=4, language="en"),
    ]
    for number in range(1, 201):
        renderer.personalize(
            variants[number % 2], subscriber(number), delivery_id=f"4-{number}", signer=signer
        )
    assert len(premailer_calls) == 2


def test_each_reader_gets_their_own_valid_tokens(
    renderer: DigestRenderer, variant: DigestVariant
) -> None:
    signer = TokenSigner(KEYS)
    seen: set[str] = set()
    for number in (11, 12, 13):
        message = renderer.personalize(
            variant, subscriber(number), delivery_id=f"3-{number}", signer=signer
        )
        found = dict(re.findall(r"/(unsubscribe|preferences)/([A-Za-z0-9_.-]+)", str(message.text)))
        assert signer.read(found["unsubscribe"], "unsubscribe") == {"subscriber_id": number}
        assert signer.read(found["preferences"], "preferences") == {"subscriber_id": number}
        html = str(message.html)
        assert f'href="https://news.example.com/unsubscribe/{found["unsubscribe"]}"' in html
        assert f"reader{number}@example.org" in html
        headers = dict(message.headers)
        assert headers["List-Unsubscribe"].startswith(
            f"<https://news.example.com/unsubscribe/{found['unsubscribe']}>, <mailto:"
        )
        assert found["unsubscribe"] not in seen
        seen.add(found["unsubscribe"])


def test_list_headers_and_message_id(renderer: DigestRenderer, variant: DigestVariant) -> None:
    message = renderer.personalize(
        variant, subscriber(5), delivery_id="3-5", signer=TokenSigner(KEYS)
    )
    parsed = email.message_from_bytes(message_bytes(message), policy=email.policy.default)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["List-Id"] == "AI 뉴스 주간 브리핑 <weekly.news.example.com>"
    assert parsed["Message-ID"] == "<3-5@news.example.com>"
    assert parsed["Subject"] == "AI 뉴스 주간 브리핑: 3개의 새 글"
    assert parsed["To"] == "reader5@example.org"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_users_template_folder_wins(tmp_path: Path) -> None:
    folder = tmp_path / "mytemplates" / "email"
    folder.mkdir(parents=True)
    (folder / "digest.txt.j2").write_text(
        "{{ greeting }} -- {% for post in posts %}{{ post.title }}; {% endfor %}"
        "{{ unsubscribe_url }}\n",
        encoding="utf-8",
    )
    renderer = DigestRenderer(settings(tmp_path, templates=tmp_path / "mytemplates"), NEWSLETTER)
    variant = renderer.render_variant(ENTRIES[:1], edition_number=1, language="ko")
    message = renderer.personalize(
        variant, subscriber(3), delivery_id="1-3", signer=TokenSigner(KEYS)
    )
    assert str(message.text).startswith("김민지님, 안녕하세요. -- 공장으로 간 로봇 팔")
    assert "https://news.example.com/unsubscribe/" in str(message.text)
    assert "<table" in str(message.html)  # the HTML template still comes from syndicator
