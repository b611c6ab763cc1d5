"""Config loading: defaults, env overrides, errors that name the key, and documented settings."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from syndicator import config
from syndicator.errors import ConfigError

MINIMAL = """
[site]
url = "https://blog.example.com/"
timezone = "Asia/Seoul"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syndicator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, MINIMAL), env={})
    assert settings.site.url == "https://blog.example.com"
    assert settings.site.timezone.key == "Asia/Seoul"
    assert settings.feeds.dir == (tmp_path / "public").resolve()
    assert settings.feeds.formats == ("atom", "rss", "json")
    assert settings.mail.backend == "outbox"
    assert settings.database.url == f"sqlite:///{(tmp_path / 'state/syndicator.db').resolve()}"
    assert settings.collect.every == timedelta(minutes=15)


def test_environment_wins_and_carries_secrets(tmp_path: Path) -> None:
    env = {
        "SYNDICATOR_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "SYNDICATOR_MAIL_BACKEND": "postmark",
        "SYNDICATOR_MAIL_API_URL": "http://127.0.0.1:9/",
        "SYNDICATOR_MAIL_API_KEY": "k-123",
        "SYNDICATOR_SECRET_KEY": "new, old",
    }
    settings = config.load(write(tmp_path, MINIMAL + '[mail]\nbackend = "smtp"\n'), env=env)
    assert settings.database.url == "postgresql+psycopg://u@h/db"
    assert settings.mail.backend == "postmark"
    assert settings.mail.api_url == "http://127.0.0.1:9"
    assert settings.mail.api_key == "k-123"
    assert settings.secret_keys == ("new", "old")
    assert "k-123" not in repr(settings)


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        pytest.param(
            '[[newsletters]]\nname = "weekly"\nschedule = "0 9 * * funday"\n',
            "newsletters[0].schedule",
            "is not a cron expression",
            id="bad-cron",
        ),
        pytest.param("[feeds]\nlimit = 0\n", "feeds.limit", "at least 1", id="zero-limit"),
        pytest.param(
            '[feeds]\nformats = ["atom", "rdf"]\n', "feeds.formats", "'rdf'", id="unknown-format"
        ),
        pytest.param(
            '[mail]\nbackend = "carrier-pigeon"\n',
            "mail.backend",
            "postmark",
            id="unknown-backend-lists-valid",
        ),
        pytest.param('[mail]\napi_key = "x"\n', "mail.api_key", "environment", id="secret-in-file"),
        pytest.param("[feeds]\nlimt = 3\n", "feeds.limt", "unknown setting", id="typo"),
        pytest.param('[collect]\nevery = "soon"\n', "collect.every", "duration", id="bad-duration"),
        pytest.param(
            '[[sources]]\nname = "x"\ntype = "jekyll"\npath = "nope"\n',
            "sources[0].path",
            "not a folder",
            id="missing-site-folder",
        ),
    ],
)
def test_bad_values_name_file_and_key(tmp_path: Path, extra: str, key: str, fragment: str) -> None:
    path = write(tmp_path, MINIMAL + extra)
    with pytest.raises(ConfigError) as info:
        config.load(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert fragment in message


def test_bad_timezone_and_missing_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"site.timezone: 'Mars/Base'"):
        config.load(
            write(tmp_path, '[site]\nurl = "https://x.example"\ntimezone = "Mars/Base"\n'), env={}
        )
    with pytest.raises(ConfigError, match=r"site.url"):
        config.load(write(tmp_path, "[feeds]\nlimit = 3\n"), env={})


def test_site_fallback_fills_only_missing_keys(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    text = '[site]\ntitle = "Mine"\n[[sources]]\nname = "b"\ntype = "jekyll"\npath = "site"\n'

    def fallback(root: Path) -> dict[str, str]:
        assert root == (tmp_path / "site").resolve()
        return {"title": "Theirs", "url": "https://theirs.example", "timezone": "Asia/Seoul"}

    settings = config.load(write(tmp_path, text), env={}, site_fallback=fallback)
    assert settings.site.title == "Mine"
    assert settings.site.url == "https://theirs.example"
    assert settings.site.timezone.key == "Asia/Seoul"


def _documented_keys(text: str) -> set[str]:
    """Keys in the example, whether set or commented out (`# key = ...`)."""
    return set(re.findall(r"^#?\s*([a-z_]+)\s*=", text, flags=re.MULTILINE))


def test_example_config_documents_every_setting(repo_root: Path) -> None:
    example = repo_root / "config" / "syndicator.example.toml"
    text = example.read_text(encoding="utf-8")
    tomllib.loads(text)
    keys = _documented_keys(text)
    renamed = {
        "sender": "from",
        "smtp_host": "host",
        "smtp_port": "port",
        "smtp_security": "security",
        "smtp_username": "username",
        "smtp_connections": "connections",
        "smtp_ca_file": "ca_file",
        "ses_region": "region",
    }
    secrets = {"api_key", "smtp_password", "secret_keys", "path"}
    for cls in (
        config.SiteSettings,
        config.FeedsSettings,
        config.MailSettings,
        config.NewsletterSettings,
        config.WebSettings,
        config.CollectSettings,
        config.DatabaseSettings,
        config.SourceSettings,
    ):
        for f in dataclasses.fields(cls):
            name = renamed.get(f.name, f.name)
            if name in secrets or name == "options":
                continue
            assert name in keys, f"{cls.__name__}.{f.name} is not documented in {example}"
    assert "templates" in keys


def test_starter_config_from_init_is_the_example(repo_root: Path) -> None:
    from syndicator.starter import starter_text

    example = repo_root / "config" / "syndicator.example.toml"
    assert starter_text() == example.read_text(encoding="utf-8")
