"""WebSub: after feed files change, tell the configured hub so subscribers get them at once.

The hub is told with the common publish ping (a form POST of ``hub.mode=publish`` and one
``hub.url`` per changed feed). A hub that is down costs a warning, never the run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from syndicator import __version__
from syndicator.config import Settings

if TYPE_CHECKING:
    import httpx

__all__ = ["feed_urls", "notify_hub"]

log = logging.getLogger(__name__)
TIMEOUT = 10.0


def feed_urls(settings: Settings, paths: Sequence[Path]) -> list[str]:
    """Public URLs of written feed files (they sit at the site root, as jekyll-feed's do)."""
    base = settings.site.url + settings.site.baseurl
    urls = []
    for path in paths:
        try:
            relative = path.resolve().relative_to(settings.feeds.dir)
        except ValueError:
            continue
        urls.append(f"{base}/{relative.as_posix()}")
    return urls


def notify_hub(
    settings: Settings, written: Sequence[Path], *, client: httpx.Client | None = None
) -> bool:
    """Ping the hub about the changed feeds; True when it accepted (or nothing to say)."""
    hub = settings.feeds.hub
    urls = feed_urls(settings, written)
    if not hub or not urls:
        return True
    import httpx  # only when there is a hub to tell

    body = urlencode([("hub.mode", "publish"), *(("hub.url", url) for url in urls)])
    headers = {
        "user-agent": f"syndicator/{__version__} (+{settings.site.url})",
        "content-type": "application/x-www-form-urlencoded",
    }
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT)
    try:
        answer = http.post(hub, content=body.encode("ascii"), headers=headers)
    except httpx.HTTPError as exc:
        log.warning("websub hub=%s unreachable: %s (feeds are written; readers poll)", hub, exc)
        return False
    finally:
        if own:
            http.close()
    if answer.status_code >= 300:
        log.warning("websub hub=%s answered status=%d to a publish ping", hub, answer.status_code)
        return False
    log.info("websub hub=%s told feeds=%d", hub, len(urls))
    return True
