"""The error hierarchy of syndicator; library exceptions are translated into these at boundaries.

SyndicatorError
├── ConfigError          bad config file, setting or environment value (exit 2)
├── SourceError          a post, file or remote feed that cannot be used
├── StoreError           the database cannot be reached or migrated
├── RenderError          a feed, template or digest cannot be rendered
└── DeliveryError        a message could not be handed to the mail provider
        .retryable: True for timeouts, 429 and 5xx; False for rejected messages and bad keys
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeliveryError",
    "RenderError",
    "SourceError",
    "StoreError",
    "SyndicatorError",
]


class SyndicatorError(Exception):
    """Base of every error syndicator raises on purpose."""


class ConfigError(SyndicatorError):
    """A config value is missing or invalid; the message names the file and the key."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class SourceError(SyndicatorError):
    """One input (a post file, a feed URL) cannot be used; the others go on."""

    def __init__(self, message: str, *, origin: str = "", line: int | None = None) -> None:
        self.origin = origin
        self.line = line
        self.reason = message
        where = f"{origin}:{line}" if origin and line else origin
        super().__init__(f"{where}: {message}" if where else message)


class StoreError(SyndicatorError):
    """The store cannot be opened, migrated or written."""


class RenderError(SyndicatorError):
    """Output (a feed, a template, a digest) cannot be rendered."""


class DeliveryError(SyndicatorError):
    """A message, or a whole batch, could not be delivered.

    ``retryable`` tells the sender whether trying again later can help (timeouts, 429, 5xx)
    or not (a rejected address, a wrong API key). ``fatal`` means no further message can
    succeed either (a wrong API key), so sending stops at once.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        fatal: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.retryable = retryable
        self.fatal = fatal
        self.retry_after = retry_after
        super().__init__(message)
