"""What every email we render shares: the Jinja2 environment (the user's folder before ours),
CSS inlining with premailer (no network), and header-safe one-line text."""

from __future__ import annotations

import logging
import re
from typing import Any

import jinja2
from premailer import Premailer

from syndicator.config import Settings
from syndicator.errors import RenderError
from syndicator.render.plaintext import wrap

__all__ = ["email_environment", "fold_long_lines", "inline_css", "one_line", "render_template"]

log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """Collapse every run of whitespace (CR, LF, tabs, Unicode breaks) to one space; drop controls.

    Whatever a post title or config template holds, the result can never start a new header.
    """
    if text.isprintable() and text == text.strip() and "  " not in text:
        return text  # the common case, and the fast one: nothing to collapse or drop
    return _CONTROL.sub("", " ".join(str(text).split()))


def email_environment(settings: Settings) -> jinja2.Environment:
    """Templates by name like ``email/digest.html.j2``; the user's folder wins over ours."""
    loaders: list[jinja2.BaseLoader] = []
    if settings.templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(settings.templates)))
    loaders.append(jinja2.PackageLoader("syndicator", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=lambda name: bool(name and name.endswith((".html.j2", ".html"))),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["wrap"] = wrap
    return env


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render one template; a missing template or a template bug becomes a RenderError."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(
            f"email template {name!r} not found in your templates folder or syndicator's "
            f"(templates/README.md explains overriding)"
        ) from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"email template {name!r}: {exc}") from exc


def inline_css(html: str) -> str:
    """Move the <style> rules onto the elements; media queries stay in a <style> for phones."""
    try:
        inliner = Premailer(
            html,
            base_url=None,
            disable_link_rewrites=True,
            allow_network=False,
            allow_loading_external_files=False,
            keep_style_tags=False,
            strip_important=False,
            disable_validation=True,
            cssutils_logging_level=logging.CRITICAL,
        )
        result: str = inliner.transform()
    except Exception as exc:  # premailer raises lxml, cssutils and its own errors alike
        raise RenderError(f"cannot inline the email's CSS: {exc}") from exc
    return result


def fold_long_lines(text: str, limit: int = 800) -> str:
    """Break lines longer than ``limit`` at spaces (HTML treats a newline as a space).

    Mail lines may not exceed 998 octets; premailer writes long style attributes on one line.
    """
    out: list[str] = []
    for line in text.split("\n"):
        while len(line.encode("utf-8")) > limit:
            room = limit if line.isascii() else limit // 4  # at most 4 octets per character
            cut = line.rfind(" ", 0, room)
            if cut <= 0:
                break
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out)
