"""Markdown rendering as Jekyll (kramdown) does it, and HTML post-processing."""

from __future__ import annotations

from syndicator.markup.markdown import render_markdown

__all__ = ["render_markdown"]
