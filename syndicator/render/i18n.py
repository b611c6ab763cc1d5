"""The words of our emails in Korean and English, and dates formatted for the reader (Babel)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date

__all__ = ["CATALOGUE", "DEFAULT_LANGUAGE", "format_date", "language_code", "strings"]

DEFAULT_LANGUAGE = "en"

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello,",
        "greeting_named": "Hello {name},",
        "intro": "Here is what is new since the last edition.",
        "edition": "Edition {number}",
        "read_more": "Read more",
        "view_in_browser": "View in browser",
        "unsubscribe": "Unsubscribe",
        "preferences": "Update preferences",
        "why": "You are receiving this email at {email} because you subscribed to {newsletter}.",
        "preheader": "{count} new posts: {first}",
        "preheader_one": "New post: {first}",
        "confirm_subject": "Confirm your subscription to {site}",
        "confirm_heading": "Please confirm your subscription",
        "confirm_body": "Someone, hopefully you, asked to receive {site} by email at {email}. "
        "Click the button to confirm. If it was not you, ignore this email and nothing happens.",
        "confirm_button": "Confirm subscription",
    },
    "ko": {
        "greeting": "안녕하세요.",
        "greeting_named": "{name}님, 안녕하세요.",
        "intro": "지난 호 이후 새로 올라온 글을 모았습니다.",
        "edition": "제{number}호",
        "read_more": "더 읽기",
        "view_in_browser": "브라우저에서 보기",
        "unsubscribe": "구독 해지",
        "preferences": "구독 설정 변경",
        "why": "이 메일은 {newsletter} 구독을 신청하신 {email} 주소로 보내 드렸습니다.",
        "preheader": "새 글 {count}편: {first}",
        "preheader_one": "새 글: {first}",
        "confirm_subject": "{site} 구독을 확인해 주세요",
        "confirm_heading": "구독을 확인해 주세요",
        "confirm_body": "{email} 주소로 {site} 소식을 받겠다는 신청이 들어왔습니다. "
        "아래 버튼을 눌러 확인해 주세요. 신청하지 않으셨다면 이 메일을 무시하시면 됩니다.",
        "confirm_button": "구독 확인",
    },
}


def language_code(language: str | None) -> str:
    """The catalogue language for a tag like 'ko-KR' or 'en_US'; English when unknown."""
    if not language:
        return DEFAULT_LANGUAGE
    base = language.replace("_", "-").split("-", 1)[0].lower()
    return base if base in CATALOGUE else DEFAULT_LANGUAGE


@lru_cache(maxsize=64)
def strings(language: str | None) -> Mapping[str, str]:
    """The UI strings for a language, English for any key or language we lack."""
    code = language_code(language)
    if code == DEFAULT_LANGUAGE:
        return CATALOGUE[DEFAULT_LANGUAGE]
    return {**CATALOGUE[DEFAULT_LANGUAGE], **CATALOGUE[code]}


@lru_cache(maxsize=32)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANGUAGE)


def format_date(dt: datetime, language: str | None, zone: ZoneInfo) -> str:
    """The day ``dt`` falls on in ``zone``, written the reader's way ('2026년 1월 12일')."""
    return str(
        babel_format_date(
            dt.astimezone(zone).date(), format="long", locale=_locale(language or DEFAULT_LANGUAGE)
        )
    )
