"""Markdown rendering as Jekyll (kramdown) does it, and HTML post-processing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syndicator.markup.markdown import render_markdown

__all__ = ["render_markdown"]


def __getattr__(name: str) -> Any:
    # The Markdown parser and lxml load on first use, not with the package: a run that renders
    # nothing (no new post) should not pay for them.
    if name == "render_markdown":
        from syndicator.markup.markdown import render_markdown

        return render_markdown
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
