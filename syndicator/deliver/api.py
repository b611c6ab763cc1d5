"""The set-up every HTTP mail backend shares: key check, batch size, endpoint, rate bucket."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from syndicator.config import MailSettings
from syndicator.deliver.http import ApiEndpoint, Clock, RetryPolicy
from syndicator.deliver.ratelimit import process_bucket
from syndicator.errors import ConfigError

__all__ = ["ApiBackend"]


class ApiBackend:
    """Set-up every HTTP mail backend shares: key check, batch size, endpoint, rate bucket."""

    name: str
    max_batch: int

    def _connect(
        self,
        mail: MailSettings,
        *,
        limit: int,
        base_url: str,
        headers: Mapping[str, str],
        auth: tuple[str, str] | None = None,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        client: httpx.Client | None = None,
        key_hint: str = "SYNDICATOR_MAIL_API_KEY",
        key_name: str = "",
    ) -> None:
        if key_name and not mail.api_key:
            raise ConfigError(
                f"the {self.name} backend needs SYNDICATOR_MAIL_API_KEY ({key_name})",
                key="mail.api_key",
            )
        self.max_batch = min(mail.batch_size or limit, limit)
        self._endpoint = ApiEndpoint(
            self.name,
            mail.api_url or base_url,
            headers=headers,
            auth=auth,
            policy=policy,
            clock=clock,
            client=client,
            key_hint=key_hint,
        )
        self._bucket = process_bucket(mail.rate)
