"""The words of the web pages in English and Korean, and picking the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

__all__ = ["LANGUAGES", "negotiate", "words"]

LANGUAGES = ("en", "ko")

_EN: dict[str, str] = {
    "language_name": "English",
    "subscribe_title": "Subscribe to {site}",
    "subscribe_intro": "Get new posts by email. We send a confirmation link first; nothing "
    "arrives until you click it.",
    "email_label": "Email address",
    "name_label": "Name (optional)",
    "newsletters_label": "Newsletters",
    "topics_label": "Topics (optional; none chosen means every topic)",
    "honeypot_label": "Leave this field empty",
    "subscribe_button": "Subscribe",
    "sent_title": "Check your inbox",
    "sent_body": "If the address can receive {site}, a confirmation email is on its way. "
    "Click the link in it to start your subscription.",
    "error_email": "Please enter a valid email address.",
    "error_newsletter": "Please choose at least one newsletter.",
    "error_form_expired": "The form expired. Please send it again.",
    "error_rate": "Too many requests from your network. Please try again later.",
    "confirmed_title": "You are subscribed",
    "confirmed_body": "Thank you for confirming. The next edition will reach you by email.",
    "already_confirmed_body": "Your subscription was already confirmed.",
    "link_expired_title": "This link has expired",
    "link_expired_body": "Confirmation links are valid for {days} days. Subscribe again to get "
    "a fresh one.",
    "link_invalid_title": "This link is not valid",
    "link_invalid_body": "The link may have been cut short or changed. Copy the whole link from "
    "the email, or subscribe again.",
    "subscribe_again": "Subscribe again",
    "manage_preferences": "Manage your preferences",
    "unsubscribe_title": "Unsubscribe",
    "unsubscribe_body": "Stop all newsletters from {site} to {email}?",
    "unsubscribe_button": "Unsubscribe",
    "unsubscribed_title": "You are unsubscribed",
    "unsubscribed_body": "You will not receive any more newsletters from {site}.",
    "preferences_title": "Your subscription",
    "preferences_intro": "Choose what {site} sends to {email}. Changes apply from the next "
    "edition.",
    "preferences_saved": "Your preferences are saved.",
    "preferences_unsubscribed": "You are unsubscribed. Subscribe again to receive newsletters.",
    "subscribed_label": "Receive {title}",
    "frequency_label": "How often",
    "frequency_every": "Every edition",
    "frequency_weekly": "At most once a week",
    "frequency_monthly": "At most once a month",
    "language_label": "Language of the emails",
    "save_button": "Save preferences",
    "data_title": "Your data",
    "data_body": "Download everything we keep about you, or delete it. Deleting ends every "
    "subscription at once.",
    "export_json": "Download as JSON",
    "export_csv": "Download as CSV",
    "delete_confirm_label": "I want my data deleted",
    "delete_button": "Delete my data",
    "delete_needs_confirm": "Tick the box to confirm the deletion.",
    "deleted_title": "Your data is deleted",
    "deleted_body": "We removed your address and subscriptions.",
    "forbidden_title": "This form cannot be sent",
    "forbidden_body": "The page was open too long or came from another site. Reload the page "
    "and try again.",
    "archive_title": "Archive",
    "archive_intro": "Past editions of the newsletters of {site}.",
    "archive_empty": "No editions yet.",
    "archive_feed": "Atom feed of the editions",
    "archive_all": "All newsletters",
    "edition_label": "Edition {number}",
    "not_found_title": "Page not found",
    "not_found_body": "There is nothing at this address.",
    "error_title": "Something went wrong",
    "error_body": "Please try again in a moment.",
    "home": "Subscribe",
}

_KO: dict[str, str] = {
    "language_name": "한국어",
    "subscribe_title": "{site} 구독하기",
    "subscribe_intro": "새 글을 메일로 받아 보세요. 먼저 확인 메일을 보내 드리며, 메일 속 링크를 "
    "누르기 전에는 아무것도 보내지 않습니다.",
    "email_label": "메일 주소",
    "name_label": "이름 (선택)",
    "newsletters_label": "뉴스레터",
    "topics_label": "주제 (선택, 고르지 않으면 모든 주제)",
    "honeypot_label": "이 칸은 비워 두세요",
    "subscribe_button": "구독하기",
    "sent_title": "메일함을 확인해 주세요",
    "sent_body": "이 주소로 {site} 메일을 받을 수 있다면 확인 메일이 곧 도착합니다. 메일 속 "
    "링크를 누르면 구독이 시작됩니다.",
    "error_email": "올바른 메일 주소를 입력해 주세요.",
    "error_newsletter": "뉴스레터를 하나 이상 골라 주세요.",
    "error_form_expired": "양식이 만료되었습니다. 다시 보내 주세요.",
    "error_rate": "요청이 너무 많습니다. 잠시 뒤에 다시 시도해 주세요.",
    "confirmed_title": "구독이 시작되었습니다",
    "confirmed_body": "확인해 주셔서 감사합니다. 다음 호부터 메일로 보내 드립니다.",
    "already_confirmed_body": "이미 확인된 구독입니다.",
    "link_expired_title": "링크가 만료되었습니다",
    "link_expired_body": "확인 링크는 {days}일 동안 유효합니다. 다시 구독하시면 새 링크를 보내 "
    "드립니다.",
    "link_invalid_title": "올바르지 않은 링크입니다",
    "link_invalid_body": "링크가 잘렸거나 바뀌었을 수 있습니다. 메일에서 링크 전체를 복사하시거나 "
    "다시 구독해 주세요.",
    "subscribe_again": "다시 구독하기",
    "manage_preferences": "구독 설정 바꾸기",
    "unsubscribe_title": "구독 해지",
    "unsubscribe_body": "{email} 주소로 가는 {site}의 모든 뉴스레터를 그만 받으시겠어요?",
    "unsubscribe_button": "구독 해지",
    "unsubscribed_title": "구독이 해지되었습니다",
    "unsubscribed_body": "{site}의 뉴스레터를 더 이상 보내지 않습니다.",
    "preferences_title": "구독 설정",
    "preferences_intro": "{email} 주소로 받을 {site} 소식을 고르세요. 바꾼 설정은 다음 호부터 "
    "적용됩니다.",
    "preferences_saved": "설정을 저장했습니다.",
    "preferences_unsubscribed": "구독이 해지된 상태입니다. 다시 받으시려면 새로 구독해 주세요.",
    "subscribed_label": "{title} 받기",
    "frequency_label": "받는 주기",
    "frequency_every": "매 호마다",
    "frequency_weekly": "일주일에 한 번까지",
    "frequency_monthly": "한 달에 한 번까지",
    "language_label": "메일 언어",
    "save_button": "설정 저장",
    "data_title": "내 정보",
    "data_body": "저장된 내 정보를 내려받거나 지울 수 있습니다. 지우면 모든 구독이 바로 끝납니다.",
    "export_json": "JSON으로 내려받기",
    "export_csv": "CSV로 내려받기",
    "delete_confirm_label": "내 정보를 지우겠습니다",
    "delete_button": "내 정보 지우기",
    "delete_needs_confirm": "지우시려면 확인란에 표시해 주세요.",
    "deleted_title": "정보를 지웠습니다",
    "deleted_body": "메일 주소와 구독 정보를 모두 지웠습니다.",
    "forbidden_title": "양식을 보낼 수 없습니다",
    "forbidden_body": "페이지를 너무 오래 열어 두었거나 다른 사이트에서 보낸 요청입니다. 페이지를 "
    "새로 고친 뒤 다시 시도해 주세요.",
    "archive_title": "지난 호",
    "archive_intro": "{site} 뉴스레터의 지난 호입니다.",
    "archive_empty": "아직 발행된 호가 없습니다.",
    "archive_feed": "지난 호 Atom 피드",
    "archive_all": "모든 뉴스레터",
    "edition_label": "제{number}호",
    "not_found_title": "페이지를 찾을 수 없습니다",
    "not_found_body": "이 주소에는 아무것도 없습니다.",
    "error_title": "문제가 생겼습니다",
    "error_body": "잠시 뒤에 다시 시도해 주세요.",
    "home": "구독하기",
}

_CATALOGUE = {"en": _EN, "ko": {**_EN, **_KO}}


def _base(tag: str) -> str:
    return tag.strip().replace("_", "-").split("-", 1)[0].lower()


@lru_cache(maxsize=8)
def words(language: str) -> Mapping[str, str]:
    """The page strings for a language (English for any language we lack)."""
    return _CATALOGUE.get(_base(language), _EN)


def _accepted(header: str) -> list[str]:
    """Languages of an Accept-Language header, most wanted first (q=0 left out)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, index, _base(tag)))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(
    override: str | None, preferred: str | None, accept_language: str, default: str
) -> str:
    """The page language: ``?lang=``, the subscriber's, Accept-Language, else the site's."""
    for candidate in (override, preferred):
        if candidate and _base(candidate) in LANGUAGES:
            return _base(candidate)
    for tag in _accepted(accept_language):
        if tag in LANGUAGES:
            return tag
    return _base(default) if _base(default) in LANGUAGES else "en"
