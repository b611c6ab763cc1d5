"""The `syndicator` command: parse arguments, wire settings and store, call the pipeline."""

from __future__ import annotations

import argparse
import atexit
import functools
import gc
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syndicator import __version__
from syndicator.config import Settings, default_config_path, load
from syndicator.errors import ConfigError, StoreError, SyndicatorError

if TYPE_CHECKING:
    from syndicator.feeds_seal import SealInputs

__all__ = ["main"]

log = logging.getLogger("syndicator")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _now() -> datetime:
    return datetime.now(UTC)


def _settings(args: argparse.Namespace) -> Settings:
    return load(args.config)


def _open_store(settings: Settings):  # type: ignore[no-untyped-def]
    from syndicator.store import Store

    return Store.open(settings.database.url)


def cmd_init(args: argparse.Namespace) -> int:
    from syndicator.starter import write_starter

    target = Path(args.dir) / "config" / "syndicator.toml"
    path = write_starter(target)
    print(f"wrote {path}; edit it, then run: syndicator check --config {path}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from syndicator.pipeline import check_sources

    settings = _settings(args)
    collections = check_sources(settings, _now())
    bad = 0
    for collection in collections:
        good = len(collection.changed)
        problems = collection.problems
        bad += len(problems)
        status = "FAILED" if collection.failed else "ok"
        print(f"source {collection.source}: {status}, {good} usable, {len(problems)} problem(s)")
        for problem in problems:
            print(f"  {problem}")
    print(f"config {settings.path}: ok ({len(settings.newsletters)} newsletter(s))")
    return EXIT_FAILED if bad or any(c.failed for c in collections) else EXIT_OK


def cmd_feeds(args: argparse.Namespace) -> int:
    from syndicator.feeds_seal import break_seal, check_seal, seal_inputs

    settings = _settings(args)
    before = seal_inputs(settings)  # before collecting: a file changed meanwhile breaks it
    if not args.force:
        sealed = check_seal(settings, _now(), before)
        if sealed is not None:  # nothing changed: the store is not even opened
            log.info("feeds unchanged since the last run (sealed) files=%d", sealed.files)
            if not args.quiet:
                for name, count in sealed.sources:
                    print(
                        f"source {name}: 0 new, 0 changed, 0 removed, {count} unchanged, 0 skipped"
                    )
                print(f"feeds: nothing changed ({sealed.files} files up to date)")
            return EXIT_OK
    break_seal(settings)
    from syndicator.pipeline import collect, publish_feeds
    from syndicator.websub import notify_hub

    with _open_store(settings) as store, store.lock("run", wait=True):
        now = _now()
        report = collect(settings, store, now)
        feeds = publish_feeds(settings, store, now, force=args.force)
        clean = not report.problems and not any(s.failed for s in report.sources)
        if clean and before is not None:
            known, states = store.sources_known([s.name for s in settings.sources])
    notify_hub(settings, feeds.written)
    if clean and before is not None:
        _seal(settings, before, known, states, feeds.files)
    _print_collect(report, args)
    if not args.quiet:
        if feeds.skipped:
            print(f"feeds: nothing changed ({feeds.unchanged} files up to date)")
        else:
            print(
                f"feeds: {len(feeds.written)} written, {feeds.unchanged} unchanged, "
                f"{len(feeds.removed)} removed, in {settings.feeds.dir}"
            )
    return EXIT_OK if clean else EXIT_FAILED


def _seal(
    settings: Settings,
    before: SealInputs,
    known: dict[str, dict[str, str]],
    states: dict[str, dict[str, Any]],
    files: tuple[Path, ...],
) -> None:
    """Seal a clean run: the next one may skip the store while nothing changes."""
    from syndicator.feeds_seal import write_seal

    due = [str(s["next_visible"]) for s in states.values() if s.get("next_visible")]
    next_visible = min(datetime.fromisoformat(d) for d in due) if due else None
    counts = {s.name: len(known.get(s.name, {})) for s in settings.sources}
    write_seal(settings, before, counts, next_visible, files)


def _print_collect(report, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    if args.quiet:
        return
    for s in report.sources:
        extra = " (first run: existing posts recorded as already known)" if s.baseline else ""
        failed = " FAILED" if s.failed else ""
        print(
            f"source {s.name}:{failed} {s.new} new, {s.changed} changed, {s.removed} removed, "
            f"{s.unchanged} unchanged, {s.problems} skipped{extra}"
        )
    for problem in report.problems:
        print(f"  skipped {problem}", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from syndicator.jobs import run_once

    settings = _settings(args)
    with _open_store(settings) as store:
        outcome = run_once(settings, store, _now, wait=not args.no_wait, quiet=args.quiet)
    return outcome


def cmd_serve(args: argparse.Namespace) -> int:
    from syndicator.schedule import serve

    settings = _settings(args)
    return serve(settings, host=args.host, port=args.port)


def cmd_preview(args: argparse.Namespace) -> int:
    from syndicator.jobs import preview

    settings = _settings(args)
    settings.newsletter(args.newsletter)
    with _open_store(settings) as store:
        path = preview(settings, store, args.newsletter, _now(), args.output)
    print(path)
    return EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    from syndicator.jobs import send

    settings = _settings(args)
    settings.newsletter(args.newsletter)
    with _open_store(settings) as store:
        return send(
            settings,
            store,
            args.newsletter,
            _now,
            now_flag=args.now,
            to=args.to,
            dry_run=args.dry_run,
            quiet=args.quiet,
        )


def cmd_subscribers(args: argparse.Namespace) -> int:
    from syndicator import cli_subscribers

    settings = _settings(args)
    with _open_store(settings) as store:
        return cli_subscribers.dispatch(args, settings, store, _now())


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: $SYNDICATOR_CONFIG or config/syndicator.toml)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log what happens (-vv: debug details)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syndicator", description="Turn a blog into feeds and email newsletters."
    )
    parser.add_argument("--version", action="version", version=f"syndicator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        _common(p)
        p.set_defaults(fn=fn)
        return p

    p = add("init", cmd_init, "write a commented starter config/syndicator.toml")
    p.add_argument("dir", nargs="?", default=".", help="project folder (default: .)")
    add("check", cmd_check, "validate the config and every source; list unusable posts")
    p = add("feeds", cmd_feeds, "collect from all sources and write the feed files")
    p.add_argument("--force", action="store_true", help="render every feed even if nothing changed")
    p = add("run", cmd_run, "one cron-style pass: collect, feeds, due editions, deliveries")
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="exit at once if another run holds the lock (default: wait for it)",
    )
    p = add("serve", cmd_serve, "run the scheduler and the web app")
    p.add_argument("--host", default=None, help="bind address (default: [web] host)")
    p.add_argument("--port", type=int, default=None, help="port (default: [web] port)")
    p = add("preview", cmd_preview, "render the next edition to an HTML file; sends nothing")
    p.add_argument("newsletter")
    p.add_argument("-o", "--output", type=Path, default=None, help="HTML file to write")
    p = add("send", cmd_send, "make the newsletter's edition if due and deliver it")
    p.add_argument("newsletter")
    p.add_argument("--now", action="store_true", help="make the edition even if it is not due")
    p.add_argument("--to", metavar="EMAIL", help="send one test copy to EMAIL only")
    p.add_argument("--dry-run", action="store_true", help="show what would be sent")

    p = add("subscribers", cmd_subscribers, "manage subscribers")
    ssub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = ssub.add_parser("add", help="add a subscriber (pending double opt-in unless --confirmed)")
    a.add_argument("email")
    a.add_argument("--newsletter", action="append", default=[], help="repeatable")
    a.add_argument("--confirmed", action="store_true")
    a.add_argument("--name", default="")
    a.add_argument("--language", default=None)
    r = ssub.add_parser("remove", help="remove a subscriber and their personal data")
    r.add_argument("email")
    r.add_argument("--suppress", action="store_true", help="also keep the address suppressed")
    ls = ssub.add_parser("list", help="list subscribers")
    ls.add_argument("--newsletter", default=None)
    im = ssub.add_parser("import", help="import subscribers from CSV")
    im.add_argument("file", type=Path)
    ex = ssub.add_parser("export", help="export subscribers as CSV (stdout without FILE)")
    ex.add_argument("file", type=Path, nargs="?")
    for child in (a, r, ls, im, ex):
        _common(child)
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    if args.quiet:
        level = logging.ERROR
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "CSSUTILS", "cssutils"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@functools.cache
def _freeze_at_exit() -> None:
    """Skip the last garbage collections at exit (once per process).

    They walk every object still alive (SQLAlchemy's, the renderers', the posts): ≈ 0.06-0.1 s
    of a 0.8 s `feeds` run, to free memory the OS takes back anyway. Commands close their
    stores and files themselves; logging's own exit handler, registered earlier, still runs.
    """
    atexit.register(gc.freeze)


def main(argv: Sequence[str] | None = None) -> int:
    _freeze_at_exit()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config is None and args.command != "init":
        args.config = default_config_path()
    _configure_logging(args)
    try:
        code: int = args.fn(args)
    except ConfigError as exc:
        print(f"syndicator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"syndicator: database: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except SyndicatorError as exc:
        print(f"syndicator: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("syndicator: interrupted", file=sys.stderr)
        return 130
    return code
