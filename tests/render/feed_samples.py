"""A fixed set of posts and entries for feed tests: Korean and English, a Korean tag, an image."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from syndicator.config import FeedsSettings, SiteSettings
from syndicator.model import Author, Entry, Post

SEOUL = ZoneInfo("Asia/Seoul")
BASE = "https://blog.example.com"

SITE = SiteSettings(
    title="AI 소식",
    url=BASE,
    baseurl="",
    description="인공지능 업계의 흐름을 정리하는 블로그",
    language="ko",
    timezone=SEOUL,
    author="편집부",
)
FEEDS = FeedsSettings(dir=Path("public"), limit=20, hub="https://hub.example.net/")


def post(
    slug: str,
    *,
    day: int,
    title: str,
    categories: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    image: str | None = None,
    language: str | None = None,
    authors: tuple[Author, ...] = (),
    hour: int = 9,
    updated_days: int = 0,
) -> Post:
    published = datetime(2025, 12, day, hour, 0, tzinfo=SEOUL)
    url = f"{BASE}/news/2025/12/{day:02d}/{slug}.html"
    return Post(
        id=url,
        url=url,
        title=title,
        published=published,
        updated=published + timedelta(days=updated_days),
        source="blog",
        body=f"body of {slug}",
        categories=categories,
        tags=tags,
        image=image,
        language=language,
        authors=authors,
        origin=f"_posts/2025-12-{day:02d}-{slug}.md",
    )


def entry(p: Post, paragraph: str, summary: str) -> Entry:
    html = (
        f"<p>{paragraph}</p>\n"
        f'<p><a href="{BASE}/about/">About &amp; contact</a></p>\n'
        f'<p><img src="{BASE}/images/{p.published:%Y-%m-%d}/chart.png" alt="chart" /></p>\n'
    )
    return Entry(post=p, content_html=html, summary_html=f"<p>{summary}</p>", summary_text=summary)


def sample_entries() -> list[Entry]:
    """Four entries: newest first would be shift, briefing, tools, hello."""
    korean = post(
        "market-shift",
        day=15,
        title="모델 경쟁, 판도가 바뀌다",
        categories=("News",),
        tags=("LLM", "산업동향"),
        image="/images/2025-12-15/cover.png",
        authors=(Author("김기자", url=f"{BASE}/authors/kim/"),),
        updated_days=1,
    )
    english = post(
        "weekly-briefing",
        day=12,
        title="Weekly briefing: <agents> & tools",
        categories=("News",),
        tags=("LLM", "Agents"),
        language="en",
        authors=(Author("Jane Doe", email="jane@example.com"),),
    )
    tools = post(
        "tool-roundup",
        day=12,
        title="도구 모음",
        categories=("Tools",),
        tags=("산업동향", "AI 뉴스"),
    )
    hello = post("hello", day=1, title="첫 글", categories=("공지",), hour=0)
    return [
        entry(hello, "블로그를 시작합니다.", "첫 인사"),
        entry(tools, "이번 주에 써 본 도구들을 정리했습니다.", "도구 정리"),
        entry(english, "Agents <em>shipped</em> this week.", "What shipped this week, in short."),
        entry(korean, "경쟁 구도가 빠르게 변하고 있습니다. 1 &lt; 2 입니다.", "경쟁 구도의 변화"),
    ]
