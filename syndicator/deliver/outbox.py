"""The default mail backend: each message becomes ``<delivery_id>.eml`` in the outbox folder.

Files are written atomically (temporary file, fsync, rename), and a delivery id that already
has a file is not written again, so a resumed send never leaves a second copy.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from syndicator.config import MailSettings
from syndicator.deliver.mime import message_bytes
from syndicator.errors import DeliveryError
from syndicator.model import Message, Receipt

__all__ = ["OutboxBackend"]

log = logging.getLogger(__name__)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


class OutboxBackend:
    """Writes messages as .eml files; for previews, tests, and a hand-off to other tools."""

    name = "outbox"
    max_batch = 500

    def __init__(self, mail: MailSettings) -> None:
        self.folder = Path(mail.outbox)

    def _write(self, message: Message) -> Receipt:
        if not _SAFE_NAME.match(message.delivery_id):
            return Receipt(
                message.delivery_id,
                ok=False,
                error=f"delivery id {message.delivery_id!r} is not a safe file name",
            )
        target = self.folder / f"{message.delivery_id}.eml"
        if target.exists():
            log.info("outbox already holds delivery=%s path=%s", message.delivery_id, target)
            return Receipt(message.delivery_id, ok=True, provider_id=target.name)
        try:
            data = message_bytes(message)
        except DeliveryError as exc:
            return Receipt(message.delivery_id, ok=False, error=str(exc))
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=self.folder)  # never *.eml
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)  # readers see the whole file or none; one name per delivery
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Receipt(message.delivery_id, ok=True, provider_id=target.name)

    def send_batch(self, messages: Sequence[Message]) -> list[Receipt]:
        """One receipt per message; DeliveryError only when the folder cannot be written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            receipts = [self._write(message) for message in messages]
        except OSError as exc:
            raise DeliveryError(
                f"cannot write to the outbox {self.folder}: {exc}", retryable=True
            ) from exc
        log.info("outbox wrote batch=%d folder=%s", len(receipts), self.folder)
        return receipts

    def close(self) -> None:
        """Nothing to release: every file is complete when send_batch returns."""
