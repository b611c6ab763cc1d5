"""Mail backends, chosen by name from one registry.

A backend turns a batch of complete messages into one receipt per message. It never raises
for a single bad message (that is a failed receipt); it raises DeliveryError only when the
whole batch could not be handed over (``retryable`` says whether to try again later, ``fatal``
that no message can succeed, such as a wrong API key).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from syndicator.config import MailSettings
from syndicator.errors import ConfigError
from syndicator.model import Message, Receipt

__all__ = ["BACKENDS", "MailBackend", "open_backend"]


class MailBackend(Protocol):
    """What every mail backend offers."""

    name: str
    max_batch: int  # most messages one send_batch call takes

    def send_batch(self, messages: Sequence[Message]) -> list[Receipt]: ...

    def close(self) -> None: ...


# name -> "module:Class"; each class is constructed as Class(mail_settings)
BACKENDS: dict[str, str] = {
    "outbox": "syndicator.deliver.outbox:OutboxBackend",
    "smtp": "syndicator.deliver.smtp:SmtpBackend",
    "postmark": "syndicator.deliver.postmark:PostmarkBackend",
    "sendgrid": "syndicator.deliver.sendgrid:SendgridBackend",
    "mailgun": "syndicator.deliver.mailgun:MailgunBackend",
    "ses": "syndicator.deliver.ses:SesBackend",
    "resend": "syndicator.deliver.resend:ResendBackend",
}


def open_backend(mail: MailSettings) -> MailBackend:
    """The backend named by ``[mail] backend``; ConfigError listing the valid names otherwise."""
    target = BACKENDS.get(mail.backend)
    if target is None:
        raise ConfigError(
            f"{mail.backend!r} is not a mail backend; valid: {', '.join(sorted(BACKENDS))}",
            key="mail.backend",
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"mail backend {mail.backend!r} is not available: {exc}", key="mail.backend"
        ) from exc
    backend: MailBackend = getattr(module, class_name)(mail)
    return backend
