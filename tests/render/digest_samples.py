"""A fixed edition for digest tests and the bench: Korean posts (one with an image), one English."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from syndicator.config import (
    CollectSettings,
    DatabaseSettings,
    FeedsSettings,
    MailSettings,
    NewsletterSettings,
    Settings,
    SiteSettings,
    WebSettings,
)
from syndicator.model import Entry, Post, Subscriber, SubscriberStatus, Subscription

SEOUL = ZoneInfo("Asia/Seoul")
SITE = "https://blog.example.com"
CREATED = datetime(2026, 1, 19, 0, 0, tzinfo=UTC)  # edition time: 2026-01-19 09:00 in Seoul
KEYS = ("test-signing-key-2026", "test-signing-key-2025")


def _entry(
    slug: str,
    title: str,
    published: datetime,
    summary: str,
    *,
    image: str | None = None,
    language: str = "ko",
    categories: tuple[str, ...] = ("News",),
) -> Entry:
    url = f"{SITE}/news/{slug}/"
    post = Post(
        id=url,
        url=url,
        title=title,
        published=published,
        updated=published,
        source="blog",
        body=summary,
        image=image,
        language=language,
        categories=categories,
    )
    return Entry(
        post=post,
        content_html=f"<p>{summary}</p>",
        summary_html=f"<p>{summary}</p>",
        summary_text=summary,
    )


ENTRIES = (
    _entry(
        "2026-01-12-robots",
        "공장으로 간 로봇 팔, 사람 곁에서 일하는 법을 배우다",
        datetime(2026, 1, 11, 23, 30, tzinfo=UTC),  # 1월 12일 08:30 in Seoul, the 11th in UTC
        "협동 로봇이 작업자 옆에서 부품을 건네는 장면은 이제 낯설지 않습니다. 이번 글에서는 "
        "안전 규격, 힘 제어, 그리고 현장 노동자들이 실제로 느끼는 변화를 차례로 살펴봅니다.",
        image="/images/news/robot-arm.png",
    ),
    _entry(
        "2026-01-15-small-models",
        "작은 언어 모델의 반격: 휴대폰 안에서 돌아가는 AI",
        datetime(2026, 1, 15, 1, 0, tzinfo=UTC),
        "수십억 개의 매개변수가 없어도 쓸 만한 답을 내는 모델들이 늘고 있습니다. 양자화와 증류가 "
        "무엇을 바꿨는지, 배터리와 개인정보 측면에서 어떤 의미가 있는지 정리했습니다.",
        categories=("News", "Models"),
    ),
    _entry(
        "2026-01-17-open-weights",
        "Open weights & the <small> print: what licences actually allow",
        datetime(2026, 1, 17, 6, 0, tzinfo=UTC),
        "Not every model you can download is open source. We read five popular licences line by "
        "line and sorted out what you may ship, fine-tune and sell.",
        language="en",
    ),
)


def settings(tmp: Path, *, templates: Path | None = None, mailto: str = "") -> Settings:
    return Settings(
        path=tmp / "syndicator.toml",
        site=SiteSettings(title="AI 뉴스", url=SITE, language="ko", timezone=SEOUL),
        database=DatabaseSettings(),
        sources=(),
        collect=CollectSettings(),
        feeds=FeedsSettings(),
        mail=MailSettings(
            sender='"AI 뉴스" <news@blog.example.com>',
            reply_to="editor@blog.example.com",
            outbox=tmp / "outbox",
            list_unsubscribe_mailto=mailto,
        ),
        newsletters=(NEWSLETTER,),
        web=WebSettings(
            base_url="https://news.example.com",
            postal_address="서울특별시 중구 세종대로 110, 04524",
        ),
        templates=templates,
        secret_keys=KEYS,
    )


NEWSLETTER = NewsletterSettings(
    name="weekly",
    title="AI 뉴스 주간 브리핑",
    schedule="0 9 * * mon",
    subject="{{ newsletter.title }}: {{ posts|length }}개의 새 글",
)


def subscriber(number: int, *, name: str = "김민지", language: str | None = None) -> Subscriber:
    return Subscriber(
        id=number,
        email=f"reader{number}@example.org",
        name=name,
        status=SubscriberStatus.ACTIVE,
        created=datetime(2025, 12, 1, tzinfo=UTC),
        confirmed=datetime(2025, 12, 1, tzinfo=UTC),
        language=language,
        subscriptions=(Subscription("weekly"),),
    )
