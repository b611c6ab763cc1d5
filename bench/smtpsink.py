"""An aiosmtpd sink for bench/fanout.py: accepts every message, counts it, keeps nothing.

    python bench/smtpsink.py PORT [--workers N] [--per-worker K]

aiosmtpd reads DATA line by line in Python (~3 µs a line, ~2.4 ms CPU for an 85 KB digest of
760 lines), so one process tops out near 400 messages/s on a free core. Like any real MTA this
sink can serve from several processes: one listening socket, N forked workers, each taking at
most K connections at a time (a blocking accept in a thread, so connections spread evenly)
and serving them with aiosmtpd's own ``SMTP`` protocol on its own event loop.

Prints "listening" when ready; on end of stdin prints the totals as JSON: messages, first and
last acceptance time, and the CPU seconds the workers used after "listening".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class _Count:
    def __init__(self) -> None:
        self.n = 0
        self.first = 0.0
        self.last = 0.0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.last = time.time()
        self.first = self.first or self.last
        self.n += 1
        return "250 OK"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker(listener: socket.socket, per_worker: int, report: Connection, stop: int) -> None:
    loop = asyncio.new_event_loop()
    count = _Count()
    room = threading.Semaphore(per_worker)
    tasks: set[asyncio.Task[Any]] = set()
    started = _cpu()

    class _Smtp(SMTP):
        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            room.release()

    def serve(conn: socket.socket) -> None:
        task = loop.create_task(loop.connect_accepted_socket(lambda: _Smtp(count), conn))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def accept() -> None:
        while True:
            room.acquire()
            conn, _ = listener.accept()
            conn.setblocking(False)
            loop.call_soon_threadsafe(serve, conn)

    threading.Thread(target=accept, daemon=True).start()
    loop.add_reader(stop, loop.stop)
    loop.run_forever()
    report.send((count.n, count.first, count.last, _cpu() - started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--per-worker", type=int, default=64, help="connections at a time")
    args = parser.parse_args()
    listener = socket.create_server(("127.0.0.1", args.port), backlog=128)
    stop_read, stop_write = os.pipe()
    reports: list[Connection] = []
    pids: list[int] = []
    from multiprocessing import Pipe

    for _ in range(args.workers):
        receive, send = Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:
            receive.close()
            os.close(stop_write)
            _worker(listener, args.per_worker, send, stop_read)
            os._exit(0)
        send.close()
        reports.append(receive)
        pids.append(pid)
    print("listening", flush=True)
    sys.stdin.read()
    os.close(stop_write)  # every worker's loop sees end of file and stops
    totals: list[Any] = [report.recv() for report in reports]
    for pid in pids:
        os.waitpid(pid, 0)
    firsts = [t[1] for t in totals if t[0]]
    print(
        json.dumps(
            {
                "accepted": sum(t[0] for t in totals),
                "per_worker": [t[0] for t in totals],
                "first": min(firsts, default=0.0),
                "last": max((t[2] for t in totals), default=0.0),
                "cpu": sum(t[3] for t in totals),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
