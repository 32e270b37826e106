"""ports.Publisher for Slack: cards posted with slack_sdk's AsyncWebClient (chat.postMessage).

The client talks to ``api_url`` (PAPERWIRE_SLACK_API_URL), so tests run it against a fake
Slack on 127.0.0.1. Tokens come from a ``SlackTokens`` source asked per workspace (the team
id in ``DestinationRef.workspace``): today one bot token for every workspace
(``SingleWorkspaceToken``); an OAuth installation store can stand in later without touching
this class.

Retries. slack_sdk's rate-limit retry handler waits out a 429's Retry-After, but only while
the wait fits in ``max_retry_wait``; a longer one surfaces as
``TransientPublishError(retry_after=...)`` for the outbox. Nothing else is retried here:
chat.postMessage has no idempotency key, so a post that may have reached Slack (a timeout,
a dropped connection, a 5xx) is reported with ``maybe_posted=True`` and the outbox checks
with ``find_existing`` before posting again. Every post carries message metadata naming
the arXiv id, version and delivery nonce, which is what ``find_existing`` looks for.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, Self

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.pacing import Window
from bot.adapters.slack.render import METADATA_EVENT_TYPE, render_slack
from bot.adapters.slack.roundup import METADATA_EVENT_TYPE as ROUNDUP_EVENT_TYPE
from bot.adapters.slack.roundup import SlackRoundup, render_slack_roundup
from bot.core.chat import removed_reason
from bot.core.models import Card, DestinationRef, Platform, Roundup
from bot.services.ports import (
    CardRejected,
    PermanentPublishError,
    PublishError,
    TransientPublishError,
)

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [
    "DEFAULT_API_URL",
    "InstallationTokens",
    "SingleWorkspaceToken",
    "SlackPublisher",
    "SlackTokens",
]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_RETRY_WAIT = 10.0
DEFAULT_HISTORY_LIMIT = 50
CHANNEL_RATE = 1.0  # chat.postMessage: about one message a second per channel

# Slack error codes (https://docs.slack.dev/reference/methods/chat.postMessage), by meaning.
_RATE_LIMITED = frozenset({"ratelimited", "rate_limited", "message_limit_exceeded"})
_SERVER_SIDE = frozenset({"internal_error", "fatal_error"})  # "some of it may have happened"
_TRY_LATER = frozenset({"service_unavailable", "request_timeout", "team_added_to_org"})
_REASONS = {
    "channel_not_found": "Slack says the channel does not exist or paperwire cannot see it "
    "(channel_not_found)",
    "is_archived": "Slack says the channel is archived (is_archived)",
    "not_in_channel": "paperwire is not a member of this channel (not_in_channel): invite "
    "the app to the channel",
    "restricted_action": "the workspace does not let paperwire post in this channel "
    "(restricted_action)",
    "restricted_action_read_only_channel": "the channel is read-only for paperwire "
    "(restricted_action_read_only_channel)",
    "ekm_access_denied": "the workspace's key management denies access (ekm_access_denied)",
    "team_access_not_granted": "paperwire has no access to this workspace "
    "(team_access_not_granted)",
}
_TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "team_not_found",
    }
)


class SlackTokens(Protocol):
    """Where bot tokens come from, per workspace (team id)."""

    async def bot_token(self, team_id: str) -> SecretStr: ...


class SingleWorkspaceToken:
    """One bot token (SLACK_BOT_TOKEN) for whatever workspace is asked about."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "SingleWorkspaceToken(**********)"

    async def bot_token(self, team_id: str) -> SecretStr:
        return self._token


class InstallationTokens:
    """Bot tokens of the workspaces that installed paperwire (slack_sdk's installation store,
    kept in paperwire's database in OAuth mode)."""

    def __init__(self, store: AsyncInstallationStore) -> None:
        self._store = store

    def __repr__(self) -> str:
        return "InstallationTokens(**********)"

    async def bot_token(self, team_id: str) -> SecretStr:
        bot = await self._store.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            raise PermanentPublishError(removed_reason(Platform.SLACK), workspace=team_id)
        return SecretStr(bot.bot_token)


class _CappedRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (sleeps Retry-After, then retries), refusing long waits."""

    def __init__(self, max_wait: float, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.seen = 0  # 429 answers seen (for the metrics)

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        self.seen += 1
        values = response.headers.get("Retry-After") or response.headers.get("retry-after")
        wait = _seconds(values[0] if isinstance(values, list) and values else values)
        # The handler sleeps int(Retry-After) plus up to a second of jitter.
        return wait is not None and wait + 1.0 <= self.max_wait


class SlackPublisher:
    """Posts cards as Block Kit messages with metadata; an async context manager."""

    def __init__(
        self,
        tokens: SlackTokens | SecretStr,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        posts_per_second: float = CHANNEL_RATE,
    ) -> None:
        """``timeout``: connect and read timeout of each request; ``max_retry_wait``: the
        longest Retry-After slack_sdk may sleep on before the 429 is handed back;
        ``history_limit``: how many recent messages ``find_existing`` reads;
        ``posts_per_second``: the pace of posts to one channel.
        """
        if not 1 <= history_limit <= 999:
            raise ValueError("history_limit must be between 1 and 999 (Slack's page size)")
        self._tokens: SlackTokens = (
            SingleWorkspaceToken(tokens) if isinstance(tokens, SecretStr) else tokens
        )
        self._api_url = api_url if api_url.endswith("/") else api_url + "/"
        self._timeout = timeout
        self._max_retry_wait = max_retry_wait
        self._history_limit = history_limit
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self._per_channel = Window(1, 1.0 / posts_per_second)
        self._retry: _CappedRateLimitRetry | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, tokens: SlackTokens | None = None, **overrides: Any
    ) -> SlackPublisher:
        """The publisher for SLACK_BOT_TOKEN (or ``tokens``) and PAPERWIRE_SLACK_API_URL."""
        if tokens is None:
            if settings.slack_bot_token is None:
                raise ValueError("SLACK_BOT_TOKEN is not set: the Slack publisher needs a token")
            tokens = SingleWorkspaceToken(settings.slack_bot_token)
        options: dict[str, Any] = {
            "api_url": settings.slack_api_url,
            "timeout": settings.http_timeout_seconds,
            "posts_per_second": settings.slack_channel_posts_per_second,
            **overrides,
        }
        return cls(tokens, **options)

    def __repr__(self) -> str:
        return f"SlackPublisher(api_url={self._api_url!r})"

    @property
    def rate_limited(self) -> int:
        """429 answers seen since it opened (for the metrics)."""
        return self._retry.seen if self._retry is not None else 0

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self._client is not None:
            return
        # ``total`` bounds each call whole: a server trickling its answer cannot hold a delivery.
        timeout = aiohttp.ClientTimeout(
            total=self._timeout,
            connect=self._timeout,
            sock_connect=self._timeout,
            sock_read=self._timeout,
        )
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._retry = _CappedRateLimitRetry(self._max_retry_wait)
        retry: list[AsyncRetryHandler] = [self._retry]
        # No token on the client: each call names the workspace's token (see SlackTokens).
        self._client = AsyncWebClient(
            base_url=self._api_url,
            session=self._session,
            timeout=max(1, round(self._timeout)),  # unused with our own session; kept consistent
            retry_handlers=retry,
        )

    async def close(self) -> None:
        session, self._session, self._client = self._session, None, None
        if session is not None:
            await session.close()

    # --- ports.Publisher ----------------------------------------------------------------------

    async def publish(self, ref: DestinationRef, card: Card, *, nonce: str) -> str:
        """chat.postMessage with the rendered card; returns the message ``ts``."""
        client, token = await self._client_and_token(ref)
        payload = render_slack(card)
        metadata = dict(payload.get("metadata") or {})
        metadata["event_payload"] = {**(metadata.get("event_payload") or {}), "nonce": nonce}
        payload["metadata"] = metadata
        try:
            async with self._per_channel.slot(f"{ref.workspace}/{ref.channel}"):  # ~1 a second
                response = await client.chat_postMessage(
                    channel=ref.channel, token=token, **payload
                )
        except Exception as exc:
            raise _translate(exc, posting=True, workspace=ref.workspace) from exc
        ts = str(response.get("ts") or "")
        if not ts:
            raise TransientPublishError(
                "Slack accepted the post but returned no message ts", maybe_posted=True
            )
        log.info("posted %s to %s as message %s", card.versioned_id, ref, ts)
        return ts

    async def find_existing(self, ref: DestinationRef, card: Card, *, nonce: str) -> str | None:
        """The ts of an earlier post of this delivery among the channel's recent messages.

        A match carries our metadata with this arXiv id, version and delivery nonce, so a
        card someone summoned with ``/paper`` in the same channel is not mistaken for it.
        """
        client, token = await self._client_and_token(ref)
        try:
            response = await client.conversations_history(
                channel=ref.channel,
                limit=self._history_limit,
                include_all_metadata=True,
                token=token,
            )
        except Exception as exc:
            raise _translate(exc, posting=False, workspace=ref.workspace) from exc
        for message in response.get("messages") or []:
            if _is_delivery_of(message, card, nonce):
                ts = str(message["ts"])
                log.info("found %s already posted to %s as %s", card.versioned_id, ref, ts)
                return ts
        return None

    # --- ports.RoundupPublisher -------------------------------------------------------------

    def roundup_parts(self, roundup: Roundup) -> int:
        return 1 + len(_roundup(roundup).sections)

    async def post_roundup_part(
        self,
        ref: DestinationRef,
        roundup: Roundup,
        part: int,
        *,
        header: str | None,
        thread: str | None,
        nonce: str,
    ) -> tuple[str, str | None]:
        """The header into the channel; each section as a reply in the header's thread."""
        client, token = await self._client_and_token(ref)
        rendered = _roundup(roundup)
        payload = dict(rendered.header if part == 0 else rendered.sections[part - 1])
        if part > 0:
            if header is None:
                raise ValueError("a roundup section needs its header posted first")
            thread = thread or header
            payload["thread_ts"] = thread
        try:
            async with self._per_channel.slot(f"{ref.workspace}/{ref.channel}"):
                response = await client.chat_postMessage(
                    channel=ref.channel, token=token, **payload
                )
        except Exception as exc:
            raise _translate(exc, posting=True, workspace=ref.workspace) from exc
        ts = str(response.get("ts") or "")
        if not ts:
            raise TransientPublishError(
                "Slack accepted the post but returned no message ts", maybe_posted=True
            )
        return ts, thread if part > 0 else None

    async def find_roundup_part(
        self,
        ref: DestinationRef,
        roundup: Roundup,
        part: int,
        *,
        header: str | None,
        thread: str | None,
        nonce: str,
    ) -> str | None:
        """This part among the channel's (or the thread's) recent messages, by the metadata
        every part carries: the destination, the period and the part number."""
        client, token = await self._client_and_token(ref)
        where = thread or header
        try:
            if part == 0:
                response = await client.conversations_history(
                    channel=ref.channel,
                    limit=self._history_limit,
                    include_all_metadata=True,
                    token=token,
                )
            elif where is None:
                return None
            else:
                response = await client.conversations_replies(
                    channel=ref.channel,
                    ts=where,
                    limit=self._history_limit,
                    include_all_metadata=True,
                    token=token,
                )
        except Exception as exc:
            raise _translate(exc, posting=False, workspace=ref.workspace) from exc
        for message in response.get("messages") or []:
            if _is_roundup_part(message, roundup, part):
                return str(message["ts"])
        return None

    async def reactions(self, ref: DestinationRef, message_ids: Sequence[str]) -> dict[str, int]:
        """Reactions on each message (reactions.get); {} when the app may not read them."""
        client, token = await self._client_and_token(ref)
        counts: dict[str, int] = {}
        for ts in message_ids:
            try:
                response = await client.reactions_get(
                    channel=ref.channel, timestamp=ts, token=token
                )
            except SlackApiError as exc:
                error = (exc.response.data or {}).get("error") if exc.response else None
                if error == "missing_scope":
                    log.info("Slack: no reactions:read scope; roundups rank without reactions")
                    return {}
                continue
            message = response.get("message") or {}
            counts[ts] = sum(int(r.get("count", 0)) for r in message.get("reactions") or [])
        return counts

    # --- internals ----------------------------------------------------------------------------

    async def _client_and_token(self, ref: DestinationRef) -> tuple[AsyncWebClient, str]:
        if ref.platform is not Platform.SLACK:
            raise ValueError(f"the Slack publisher cannot post to {ref}")
        if self._client is None:
            await self.open()  # no network: the session is made on first use
        client = self._client
        assert client is not None
        token = await self._tokens.bot_token(ref.workspace)
        return client, token.get_secret_value()


@functools.lru_cache(maxsize=64)
def _roundup(roundup: Roundup) -> SlackRoundup:
    return render_slack_roundup(roundup)


def _is_roundup_part(message: Any, roundup: Roundup, part: int) -> bool:
    if not isinstance(message, dict) or not message.get("ts"):
        return False
    metadata = message.get("metadata") or {}
    if not isinstance(metadata, dict) or metadata.get("event_type") != ROUNDUP_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload") or {}
    return (
        isinstance(payload, dict)
        and payload.get("destination_id") == roundup.destination_id
        and payload.get("period") == roundup.period.label
        and payload.get("part") == part
    )


def _is_delivery_of(message: Any, card: Card, nonce: str) -> bool:
    if not isinstance(message, dict):
        return False
    metadata = message.get("metadata") or {}
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload") or {}
    if not isinstance(payload, dict):
        return False
    return (
        payload.get("arxiv_id") == card.arxiv_id
        and str(payload.get("version")) == str(card.version)
        and payload.get("nonce") == nonce
        and bool(message.get("ts"))
    )


def _seconds(value: Any) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def _translate(exc: Exception, *, posting: bool, workspace: str = "") -> PublishError:
    """A foreign failure as the ports' error (the token is never part of any message)."""
    if isinstance(exc, SlackApiError):
        return _translate_api(exc, posting=posting, workspace=workspace)
    if isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        return TransientPublishError(f"could not connect to Slack ({type(exc).__name__})")
    if isinstance(exc, TimeoutError):
        return TransientPublishError("Slack did not answer in time", maybe_posted=posting)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return TransientPublishError(
            f"the connection to Slack failed ({type(exc).__name__})", maybe_posted=posting
        )
    raise exc


def _translate_api(exc: SlackApiError, *, posting: bool, workspace: str) -> PublishError:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = getattr(response, "data", None)
    error = str(data.get("error") or "") if isinstance(data, dict) else ""
    headers = getattr(response, "headers", None) or {}
    if status == 429 or error in _RATE_LIMITED:
        retry_after = _seconds(headers.get("Retry-After"))
        wait = f": retry in {retry_after:.0f} s" if retry_after is not None else ""
        return TransientPublishError(f"Slack is rate-limiting paperwire{wait}", retry_after)
    if error in _SERVER_SIDE or (status >= 500 and not error):
        what = error or f"HTTP {status}"
        return TransientPublishError(f"Slack failed ({what})", maybe_posted=posting)
    if error in _TRY_LATER or status >= 500:
        retry_after = _seconds(headers.get("Retry-After"))
        return TransientPublishError(f"Slack asks to try later ({error})", retry_after)
    if error in _REASONS:
        return PermanentPublishError(_REASONS[error])
    if error in _TOKEN_ERRORS:
        log.warning("Slack refused paperwire's token for workspace %s (%s)", workspace, error)
        return PermanentPublishError(removed_reason(Platform.SLACK), workspace=workspace)
    if error == "missing_scope":
        needed = str(data.get("needed") or "chat:write") if isinstance(data, dict) else ""
        return PermanentPublishError(
            f"paperwire's Slack app lacks a permission (missing_scope): add the {needed} scope "
            "and reinstall it"
        )
    if not error:
        return TransientPublishError(f"Slack answered HTTP {status} without an error code")
    if error in _CARD_ERRORS:
        return CardRejected(f"Slack refused this card ({error})")
    return PermanentPublishError(f"Slack refused the post ({error})")


# Errors about the message itself: this card fails, the channel carries on.
_CARD_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "invalid_arguments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "no_text",
        "too_many_attachments",
    }
)
