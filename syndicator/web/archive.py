"""Past editions as web pages ("view in browser") and an Atom feed of each newsletter's editions."""

from __future__ import annotations

import hashlib
import html
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from syndicator.config import NewsletterSettings
from syndicator.model import Edition, Post
from syndicator.render.i18n import format_date
from syndicator.web.context import WebContext
from syndicator.web.words import words

__all__ = ["archive_routes", "editions_atom"]

ATOM = "http://www.w3.org/2005/Atom"
XML = "http://www.w3.org/XML/1998/namespace"
FEED_EDITIONS = 20
LIST_EDITIONS = 500
# The stored edition is the email's HTML: its styles are inline, its images come from the blog.
EDITION_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def editions_atom(
    ctx: WebContext, newsletter: NewsletterSettings, items: list[tuple[Edition, list[Post]]]
) -> bytes:
    """An Atom 1.0 feed of editions, newest first; each entry lists the posts it announced."""
    base = ctx.settings.web.base_url
    home = f"{base}/archive/{newsletter.name}/"
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {f"{{{XML}}}lang": ctx.settings.site.language})

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    add(feed, "id", home)
    add(feed, "title", newsletter.title)
    if newsletter.description:
        add(feed, "subtitle", newsletter.description)
    # No edition yet: today's date, so the bytes (and the ETag) stay the same all day.
    newest = items[0][0].created if items else ctx.now().replace(hour=0, minute=0, second=0)
    add(feed, "updated", newest.isoformat(timespec="seconds"))
    add(feed, "link", rel="self", href=f"{home}feed.xml", type="application/atom+xml")
    add(feed, "link", rel="alternate", href=home, type="text/html")
    author = add(feed, "author")
    add(author, "name", ctx.settings.site.author or ctx.site_title)
    for edition, posts in items:
        url = f"{base}/archive/{newsletter.name}/{edition.number}"
        entry = add(feed, "entry")
        add(entry, "id", url)
        add(entry, "title", edition.subject)
        stamp = edition.created.isoformat(timespec="seconds")
        add(entry, "published", stamp)
        add(entry, "updated", stamp)
        add(entry, "link", rel="alternate", href=url, type="text/html")
        listing = "".join(
            f'<li><a href="{html.escape(p.url)}">{html.escape(p.title)}</a></li>' for p in posts
        )
        add(entry, "summary", f"<ul>{listing}</ul>", type="html")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def archive_routes(ctx: WebContext) -> list[BaseRoute]:
    """/archive/, /archive/<newsletter>/, /archive/<newsletter>/<number>, .../feed.xml."""

    def configured(name: str) -> NewsletterSettings:
        for newsletter in ctx.settings.newsletters:
            if newsletter.name == name:
                return newsletter
        raise HTTPException(404)

    def listing(lang: str, newsletter: NewsletterSettings, limit: int) -> dict[str, object]:
        t = words(lang)
        rows = [
            {
                "url": ctx.url(f"/archive/{newsletter.name}/{e.number}"),
                "label": t["edition_label"].format(number=e.number),
                "subject": e.subject,
                "date": format_date(e.created, lang, ctx.settings.site.timezone),
                "datetime": e.created.isoformat(timespec="seconds"),
            }
            for e in ctx.store.editions(newsletter.name, limit=limit)
        ]
        return {
            "name": newsletter.name,
            "title": newsletter.title,
            "description": newsletter.description,
            "url": ctx.url(f"/archive/{newsletter.name}/"),
            "feed": ctx.url(f"/archive/{newsletter.name}/feed.xml"),
            "editions": rows,
        }

    async def index(request: Request) -> Response:
        lang = ctx.language(request)

        def gather() -> list[dict[str, object]]:
            return [listing(lang, n, 10) for n in ctx.settings.newsletters]

        newsletters = await run_in_threadpool(gather)
        return ctx.page("archive", lang, newsletters=newsletters, single=False)

    async def one_newsletter(request: Request) -> Response:
        lang = ctx.language(request)
        newsletter = configured(request.path_params["newsletter"])
        found = await run_in_threadpool(listing, lang, newsletter, LIST_EDITIONS)
        return ctx.page("archive", lang, newsletters=[found], single=True)

    async def edition(request: Request) -> Response:
        newsletter = configured(request.path_params["newsletter"])
        number: int = request.path_params["number"]
        found = await run_in_threadpool(ctx.store.get_edition, newsletter.name, number)
        if found is None or not found.html:
            raise HTTPException(404)
        headers = {
            "content-security-policy": EDITION_POLICY,
            "cache-control": "public, max-age=3600",
            "last-modified": format_datetime(found.created, usegmt=True),
        }
        return HTMLResponse(found.html, headers=headers)

    async def feed(request: Request) -> Response:
        newsletter = configured(request.path_params["newsletter"])

        def gather() -> list[tuple[Edition, list[Post]]]:
            found = ctx.store.editions(newsletter.name, limit=FEED_EDITIONS)
            return [(e, ctx.store.edition_posts(e.id)) for e in found]

        items = await run_in_threadpool(gather)
        body = editions_atom(ctx, newsletter, items)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"etag": etag, "cache-control": "public, max-age=300"}
        if items:
            headers["last-modified"] = format_datetime(items[0][0].created, usegmt=True)
        wanted = request.headers.get("if-none-match", "")
        if etag in [tag.strip() for tag in wanted.split(",")] or wanted.strip() == "*":
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=headers)

    gzip = [Middleware(GZipMiddleware, minimum_size=500)]
    return [
        Mount(
            "/archive",
            routes=[
                Route("/", index, methods=["GET", "HEAD"], name="archive"),
                Route("/{newsletter}/", one_newsletter, methods=["GET", "HEAD"]),
                Route("/{newsletter}/feed.xml", feed, methods=["GET", "HEAD"]),
                Route("/{newsletter}/{number:int}", edition, methods=["GET", "HEAD"]),
            ],
            middleware=gzip,  # no secrets on these pages, so compression is safe (BREACH)
        )
    ]
