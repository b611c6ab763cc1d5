"""Hostile input in titles, subjects and names never becomes a header or markup."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from pathlib import Path

import pytest

from syndicator.config import NewsletterSettings
from syndicator.deliver.mime import message_bytes
from syndicator.errors import ConfigError, RenderError
from syndicator.model import Entry
from syndicator.render.digest import DigestRenderer
from syndicator.tokens import TokenSigner
from tests.render.digest_samples import ENTRIES, KEYS, NEWSLETTER, settings, subscriber


def _entry_titled(title: str) -> Entry:
    first = ENTRIES[0]
    return dataclasses.replace(first, post=dataclasses.replace(first.post, title=title))


@pytest.mark.parametrize(
    ("title", "subject_template"),
    [
        pytest.param("Hi\r\nBcc: x@evil.example", "{{ posts[0].title }}", id="crlf-bcc-in-title"),
        pytest.param("Hi\nBcc: x@evil.example", "{{ posts[0].title }}", id="lf-bcc-in-title"),
        pytest.param("Hi\u2028Bcc: x@evil.example", "{{ posts[0].title }}", id="unicode-line-sep"),
        pytest.param(
            "fine", "News\r\nBcc: x@evil.example\r\n\r\nbody", id="crlf-in-subject-config"
        ),
    ],
)
def test_no_header_injection_through_titles_or_subjects(
    tmp_path: Path, title: str, subject_template: str
) -> None:
    newsletter = dataclasses.replace(NEWSLETTER, subject=subject_template)
    renderer = DigestRenderer(settings(tmp_path), newsletter)
    variant = renderer.render_variant(
        [_entry_titled(title)],
        edition_number=1,
        language="ko",
    )
    assert "\n" not in variant.subject and "\r" not in variant.subject
    message = renderer.personalize(
        variant, subscriber(1), delivery_id="1-1", signer=TokenSigner(KEYS)
    )
    parsed = email.message_from_bytes(message_bytes(message), policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert "Bcc: x@evil.example" in parsed["Subject"]
    assert len(parsed.get_all("To") or []) == 1


def test_hostile_names_are_escaped_and_kept_on_one_line(tmp_path: Path) -> None:
    renderer = DigestRenderer(settings(tmp_path), NEWSLETTER)
    variant = renderer.render_variant(ENTRIES, edition_number=1, language="en")
    name = '<script>alert(1)</script> "Eve"\r\nBcc: x@evil.example'
    message = renderer.personalize(
        variant, subscriber(2, name=name), delivery_id="1-2", signer=TokenSigner(KEYS)
    )
    assert "<script>" not in str(message.html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in str(message.html)
    parsed = email.message_from_bytes(message_bytes(message), policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert parsed["To"] == "reader2@example.org"
    assert "Bcc: x@evil.example" in str(message.text)  # the greeting, on one line
    assert "\nBcc:" not in str(message.text)


def test_marker_text_in_a_post_is_not_personalized(tmp_path: Path) -> None:
    renderer = DigestRenderer(settings(tmp_path), NEWSLETTER)
    first = renderer.render_variant(ENTRIES, edition_number=1, language="ko")
    second = renderer.render_variant(ENTRIES, edition_number=1, language="ko")
    assert first.html != second.html  # a fresh unguessable marker per variant


def test_empty_edition_and_missing_settings(tmp_path: Path) -> None:
    renderer = DigestRenderer(settings(tmp_path), NEWSLETTER)
    with pytest.raises(RenderError, match="no posts"):
        renderer.render_variant([], edition_number=1, language="ko")
    config = settings(tmp_path)
    no_web = dataclasses.replace(config, web=dataclasses.replace(config.web, base_url=""))
    with pytest.raises(ConfigError, match="base_url"):
        DigestRenderer(no_web, NEWSLETTER)


def test_bad_template_name_is_a_render_error(tmp_path: Path) -> None:
    newsletter: NewsletterSettings = dataclasses.replace(NEWSLETTER, template="nosuch")
    renderer = DigestRenderer(settings(tmp_path), newsletter)
    with pytest.raises(RenderError, match="nosuch"):
        renderer.render_variant(ENTRIES, edition_number=1, language="ko")
