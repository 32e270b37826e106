"""ports.Publisher for Discord: cards posted through discord.py's REST client (no gateway).

Base URL. discord.py builds every URL as ``Route.BASE + path`` with ``Route.BASE`` a class
attribute shared by the whole process. Rather than reassign that global (which would move
every other discord.py client in the process too), ``_RebasedHTTPClient`` moves each route's
finished URL from ``Route.BASE`` onto our ``api_url`` in ``request()``, the one method every
call goes through, ``static_login``'s ``GET /users/@me`` included. With the default
``https://discord.com/api/v10`` it changes nothing; tests point it at a fake on 127.0.0.1.

Time budget. discord.py sleeps and retries by itself on 429 (``retry_after``) and on
500/502/504/524 (1, 3, 5, 7, 9 s). A response hook (aiohttp's per-request
``raise_for_status`` callable, which discord.py passes through) lets those retries run while
their waits fit in ``max_retry_wait`` and otherwise stops them, so a long ``retry_after``
becomes ``TransientPublishError(retry_after=...)`` for the outbox instead of a blocked
delivery loop. ``max_ratelimit_timeout`` bounds discord.py's own pre-emptive bucket waits
(discord.py will not take less than 30 s there). Each request has a connect and read timeout.

Idempotency. Every post carries a nonce derived from the delivery's nonce and
``enforce_nonce: true``: Discord answers a repeat within a few minutes with the message it
already made. For older doubts ``find_existing`` reads the channel's recent messages.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import aiohttp
import discord
from discord.http import HTTPClient, Route
from pydantic import SecretStr

from bot.adapters.discord.render import render_discord
from bot.adapters.discord.roundup import DiscordRoundup, render_discord_roundup
from bot.adapters.pacing import Place, Window
from bot.core.models import Card, DestinationRef, Platform, Roundup
from bot.services.ports import (
    CardRejected,
    PermanentPublishError,
    PlatformRefused,
    PlatformUnavailable,
    PublishError,
    TransientPublishError,
)

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["DEFAULT_API_URL", "LOGIN_REFUSED", "NONCE_LENGTH", "DiscordPublisher", "discord_nonce"]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://discord.com/api/v10"
NONCE_LENGTH = 25  # Discord's limit on a message nonce
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_RETRY_WAIT = 10.0
DEFAULT_HISTORY_LIMIT = 50
GLOBAL_RATE = (50, 1.0)  # requests per second, for the whole bot
CHANNEL_RATE = (5, 5.0)  # messages per 5 seconds, per channel

# Statuses discord.py retries by itself, sleeping 1 + 2 * tries seconds before each retry.
_RETRIED_SERVER_ERRORS = frozenset({500, 502, 504, 524})
_DEFAULT_MESSAGE = 0  # message type of an ordinary post (slash-command replies are 20)

LOGIN_REFUSED = (
    "Discord rejected the bot token (401 Unauthorized): set DISCORD_TOKEN to the token of the "
    "bot (Developer Portal, your application, Bot, Reset Token) and restart paperwire"
)

_UNKNOWN_CHANNEL = 10003
_MISSING_ACCESS = 50001
_MISSING_PERMISSIONS = 50013


def discord_nonce(nonce: str) -> str:
    """The message nonce Discord gets for a delivery's ``nonce``: stable, 25 characters."""
    return hashlib.sha256(nonce.encode()).hexdigest()[:NONCE_LENGTH]


class _RebasedHTTPClient(HTTPClient):
    """discord.py's HTTP client with every route moved from ``Route.BASE`` onto ``api_url``."""

    def __init__(self, api_url: str, *, max_ratelimit_timeout: float) -> None:
        super().__init__(asyncio.get_running_loop(), max_ratelimit_timeout=max_ratelimit_timeout)
        self.api_url = api_url.rstrip("/")

    async def request(
        self,
        route: Route,
        *,
        files: Sequence[discord.File] | None = None,
        form: Iterable[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Any:
        if route.url.startswith(Route.BASE):
            route.url = self.api_url + route.url[len(Route.BASE) :]
        return await super().request(route, files=files, form=form, **kwargs)


@dataclass
class _Exchange:
    """What one publish or lookup has seen so far, across discord.py's retries."""

    posting: bool
    statuses: list[int] = field(default_factory=list)
    waited: float = 0.0  # seconds of retry sleeps we let discord.py take

    def maybe_posted(self, *, unanswered: bool) -> bool:
        """Discord may hold the post: the last attempt went unanswered (``unanswered``), or
        an attempt was answered 2xx (its answer then lost) or 5xx (which promises nothing)."""
        return self.posting and (
            unanswered or any(s >= 500 or 200 <= s < 300 for s in self.statuses)
        )


class _GiveUp(Exception):
    """Raised by the response hook to stop discord.py waiting past our budget."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class DiscordPublisher:
    """Posts cards as one embed with link buttons; an async context manager (login, close)."""

    def __init__(
        self,
        token: SecretStr,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        channel_posts: int = CHANNEL_RATE[0],
        requests_per_second: int = GLOBAL_RATE[0],
    ) -> None:
        """``timeout``: connect and read timeout of each request (also the login's whole
        budget); ``max_retry_wait``: the most discord.py may sleep on 429s and 5xx within one
        call; ``history_limit``: how many recent messages ``find_existing`` reads (1-100);
        ``requests_per_second``: this process's part of the bot's 50 a second.
        """
        if not 1 <= history_limit <= 100:
            raise ValueError("history_limit must be between 1 and 100 (Discord's page size)")
        self._token = token
        self._api_url = api_url.rstrip("/")
        self._timeout = timeout
        self._max_retry_wait = max_retry_wait
        self._history_limit = history_limit
        # ``total`` bounds each attempt whole: a server trickling its answer cannot hold a
        # delivery (discord.py's own retries each get a fresh attempt, within max_retry_wait).
        self._request_timeout = aiohttp.ClientTimeout(
            total=timeout, connect=timeout, sock_connect=timeout, sock_read=timeout
        )
        self._http: _RebasedHTTPClient | None = None
        self._bot_id: str | None = None
        self._opening = asyncio.Lock()
        self.rate_limited = 0  # 429 answers seen (for the metrics)
        # Paced to Discord's documented limits before it has to answer 429.
        self._global = Window(requests_per_second, GLOBAL_RATE[1], spread=True)
        self._per_channel = Window(channel_posts, CHANNEL_RATE[1])

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> DiscordPublisher:
        """The publisher for DISCORD_TOKEN and PAPERWIRE_DISCORD_API_URL."""
        if settings.discord_token is None:
            raise ValueError("DISCORD_TOKEN is not set: the Discord publisher needs the bot token")
        options: dict[str, Any] = {
            "api_url": settings.discord_api_url,
            "timeout": settings.http_timeout_seconds,
            "channel_posts": settings.discord_channel_posts_per_5s,
            # Several processes posting to Discord share the bot's one limit by their shards.
            "requests_per_second": max(1, int(GLOBAL_RATE[0] * settings.discord_share)),
            **overrides,
        }
        return cls(settings.discord_token, **options)

    def __repr__(self) -> str:
        return f"DiscordPublisher(api_url={self._api_url!r})"

    @property
    def bot_id(self) -> str | None:
        """The bot's user id, known after login."""
        return self._bot_id

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Log in over REST (``GET /users/@me``): checks the token and learns the bot's id.

        Called by the first post when not called before, so nothing connects to Discord
        until something needs it. A refused token is ``PlatformRefused``; Discord out of
        reach is ``PlatformUnavailable``: both stop every Discord delivery, not one channel.
        """
        async with self._opening:
            if self._http is not None:
                return
            http = _RebasedHTTPClient(
                self._api_url, max_ratelimit_timeout=max(30.0, self._max_retry_wait)
            )
            try:
                async with asyncio.timeout(self._timeout):
                    me = await http.static_login(self._token.get_secret_value())
                bot_id = str(me["id"])
            except discord.LoginFailure as exc:
                await http.close()
                raise PlatformRefused(Platform.DISCORD, LOGIN_REFUSED) from exc
            except BaseException as exc:
                await http.close()
                if isinstance(exc, discord.DiscordException | aiohttp.ClientError | OSError):
                    failure = _translate(exc, _Exchange(posting=False), reading=False)
                    retry_after = getattr(failure, "retry_after", None)
                    raise PlatformUnavailable(
                        Platform.DISCORD, f"cannot log in to Discord: {failure}", retry_after
                    ) from exc
                raise
            self._http = http
            self._bot_id = bot_id
        log.info("logged in to Discord at %s as bot %s", self._api_url, self._bot_id)

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    # --- ports.Publisher ----------------------------------------------------------------------

    async def publish(self, ref: DestinationRef, card: Card, *, nonce: str) -> str:
        """Post ``card`` to the channel; a repeat of ``nonce`` returns the first message."""
        _check_ref(ref)
        payload = render_discord(card)
        payload["nonce"] = discord_nonce(nonce)
        payload["enforce_nonce"] = True
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=ref.channel)
        async with self._per_channel.slot(ref.channel) as place:  # Discord: 5 in 5 s a channel
            data = await self._request(route, posting=True, places=(place,), json=payload)
        message_id = str(data["id"])
        log.info("posted %s to %s as message %s", card.versioned_id, ref, message_id)
        return message_id

    async def find_existing(self, ref: DestinationRef, card: Card, *, nonce: str) -> str | None:
        """The id of this bot's recent post of ``card`` in the channel, if there is one.

        Discord does not return nonces when reading history, so a post is recognised by its
        embed: the footer names ``arXiv:{id}v{version}`` and the title links to the same page.
        Slash-command replies (which show the same embed) are not deliveries and are skipped.
        """
        _check_ref(ref)
        route = Route("GET", "/channels/{channel_id}/messages", channel_id=ref.channel)
        data = await self._request(route, posting=False, params={"limit": self._history_limit})
        wanted = render_discord(card)["embeds"][0]
        ours = discord_nonce(nonce)
        for message in data if isinstance(data, list) else []:
            if self._is_delivery_of(message, wanted, card.versioned_id, ours):
                found = str(message["id"])
                log.info("found %s already posted to %s as %s", card.versioned_id, ref, found)
                return found
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
        """The header into the channel; each section into a thread started on the header."""
        _check_ref(ref)
        rendered = _roundup(roundup)
        payload = dict(rendered.header if part == 0 else rendered.sections[part - 1])
        payload["nonce"] = discord_nonce(nonce)
        payload["enforce_nonce"] = True
        where = ref.channel
        if part > 0:
            if header is None:
                raise ValueError("a roundup section needs its header posted first")
            thread = thread or await self._open_thread(ref.channel, header, rendered.thread_name)
            where = thread
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=where)
        async with self._per_channel.slot(where) as place:
            data = await self._request(route, posting=True, places=(place,), json=payload)
        return str(data["id"]), thread if part > 0 else None

    async def _open_thread(self, channel: str, message: str, name: str) -> str:
        """Start the thread on the header (a thread so started has the header's id)."""
        route = Route(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            channel_id=channel,
            message_id=message,
        )
        try:
            data = await self._request(
                route, posting=True, json={"name": name, "auto_archive_duration": 10080}
            )
        except CardRejected as exc:
            if "160004" in str(exc):  # already started (a retry after a lost answer)
                return message
            raise
        except PermanentPublishError as exc:
            cause = exc.__cause__
            if not (
                isinstance(cause, discord.HTTPException) and cause.code == _MISSING_PERMISSIONS
            ):
                raise
            # Invited without Create Public Threads / Send Messages in Threads: the sections
            # follow the header in the channel itself rather than the roundup (and the
            # channel's cards) stopping.
            log.warning(
                "Discord channel %s: no permission to start a thread (Create Public Threads, "
                "Send Messages in Threads); the roundup's sections go in the channel",
                channel,
            )
            return channel
        return str(data["id"])

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
        """This part among the bot's recent messages in the channel (or the thread): Discord
        returns no nonce when reading, so the message is recognised by what it shows."""
        _check_ref(ref)
        rendered = _roundup(roundup)
        wanted = rendered.header if part == 0 else rendered.sections[part - 1]
        where = ref.channel if part == 0 else (thread or header)
        if where is None:
            return None
        route = Route("GET", "/channels/{channel_id}/messages", channel_id=where)
        try:
            data = await self._request(route, posting=False, params={"limit": self._history_limit})
        except PermanentPublishError:
            if part > 0:
                return None  # no thread yet: nothing of it was posted
            raise
        for message in data if isinstance(data, list) else []:
            if not isinstance(message, dict):
                continue
            if str((message.get("author") or {}).get("id")) != self._bot_id:
                continue
            if _shows(message) == _shows(wanted):
                return str(message["id"])
        return None

    async def reactions(self, ref: DestinationRef, message_ids: Sequence[str]) -> dict[str, int]:
        """Reactions on each message (the bot's own not counted); missing messages skipped."""
        _check_ref(ref)
        counts: dict[str, int] = {}
        for message_id in message_ids:
            route = Route(
                "GET",
                "/channels/{channel_id}/messages/{message_id}",
                channel_id=ref.channel,
                message_id=message_id,
            )
            try:
                data = await self._request(route, posting=False)
            except (PermanentPublishError, CardRejected):
                continue
            total = 0
            for reaction in (data or {}).get("reactions") or []:
                total += int(reaction.get("count", 0)) - (1 if reaction.get("me") else 0)
            counts[message_id] = total
        return counts

    # --- internals ----------------------------------------------------------------------------

    def _is_delivery_of(
        self, message: Any, wanted: dict[str, Any], versioned_id: str, nonce: str
    ) -> bool:
        if not isinstance(message, dict):
            return False
        if message.get("nonce") is not None:  # Discord omits it; trust it when present
            return str(message["nonce"]) == nonce
        author = message.get("author") or {}
        if str(author.get("id")) != self._bot_id:
            return False
        if message.get("type", _DEFAULT_MESSAGE) != _DEFAULT_MESSAGE or message.get("webhook_id"):
            return False
        if message.get("interaction_metadata") or message.get("interaction"):
            return False
        marker = f"arXiv:{versioned_id}"
        for embed in message.get("embeds") or []:
            footer = str((embed.get("footer") or {}).get("text", ""))
            names_card = footer == marker or footer.startswith(marker + " ")
            if names_card and embed.get("url") == wanted.get("url"):
                return True
        return False

    async def _request(
        self, route: Route, *, posting: bool, places: Sequence[Place] = (), **kwargs: Any
    ) -> Any:
        """One request through discord.py, paced; ``places`` (a channel's) are freed with the
        bot's own when Discord answers for good."""
        if self._http is None:
            await self.open()
        http = self._http
        assert http is not None
        exchange = _Exchange(posting=posting)

        try:
            async with self._global.slot() as place:  # Discord: 50 requests a second, the bot

                async def on_response(response: aiohttp.ClientResponse) -> None:
                    await self._on_response(exchange, response)
                    if response.status != 429 and response.status not in _RETRIED_SERVER_ERRORS:
                        # The answer that counts (discord.py retries the others): free the
                        # places now, not when discord.py returns; on a spent bucket it sleeps
                        # till the bucket's reset first, and the bot's place must not wait.
                        for held in (place, *places):
                            held.answered()

                return await http.request(
                    route, timeout=self._request_timeout, raise_for_status=on_response, **kwargs
                )
        except Exception as exc:
            raise _translate(exc, exchange, reading=not posting) from exc

    async def _on_response(self, exchange: _Exchange, response: aiohttp.ClientResponse) -> None:
        """Record each answer; stop discord.py's retry when its wait would overrun the budget."""
        status = response.status
        exchange.statuses.append(status)
        if status == 429:
            self.rate_limited += 1
            retry_after = await _retry_after(response)
            if retry_after is not None and exchange.waited + retry_after > self._max_retry_wait:
                raise _GiveUp(status, retry_after)
            exchange.waited += retry_after or 0.0
        elif status in _RETRIED_SERVER_ERRORS:
            pause = 1.0 + 2.0 * (len(exchange.statuses) - 1)  # discord.py's 1 + tries * 2
            if exchange.waited + pause > self._max_retry_wait:
                raise _GiveUp(status, None)
            exchange.waited += pause


@functools.lru_cache(maxsize=64)
def _roundup(roundup: Roundup) -> DiscordRoundup:
    return render_discord_roundup(roundup)


def _shows(message: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What a message shows, to recognise a part: its content and its embeds' text."""
    embeds = tuple(
        (str(e.get("title", "")), str(e.get("description", "")))
        for e in message.get("embeds") or []
    )
    return str(message.get("content") or ""), embeds


def _check_ref(ref: DestinationRef) -> None:
    if ref.platform is not Platform.DISCORD:
        raise ValueError(f"the Discord publisher cannot post to {ref}")


async def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    """Seconds to wait from a 429: the body's ``retry_after`` (what discord.py reads), else
    the Retry-After header."""
    try:
        body = json.loads(await response.read())
        if isinstance(body, dict) and body.get("retry_after") is not None:
            return float(body["retry_after"])
    except (ValueError, TypeError, aiohttp.ClientError):
        pass
    return _header_seconds(response.headers.get("Retry-After"))


def _header_seconds(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


def _translate(exc: Exception, exchange: _Exchange, *, reading: bool) -> PublishError:
    """A foreign failure as the ports' error (the token is never part of any message)."""
    answered = exchange.maybe_posted(unanswered=False)  # the last attempt was refused
    if isinstance(exc, _GiveUp):
        if exc.status == 429:
            wait = exc.retry_after or 0.0
            return TransientPublishError(
                f"Discord is rate-limiting paperwire: retry in {wait:.1f} s",
                exc.retry_after,
                maybe_posted=answered,
            )
        return TransientPublishError(
            f"Discord kept answering HTTP {exc.status} (a server error)", maybe_posted=answered
        )
    if isinstance(exc, discord.RateLimited):  # a bucket wait refused before sending
        return TransientPublishError(
            f"Discord is rate-limiting paperwire: retry in {exc.retry_after:.1f} s",
            exc.retry_after,
            maybe_posted=answered,
        )
    if isinstance(exc, discord.HTTPException):
        return _translate_http(exc, maybe=answered, reading=reading)
    if isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        return TransientPublishError(
            f"could not connect to Discord ({type(exc).__name__})", maybe_posted=answered
        )
    unanswered = exchange.maybe_posted(unanswered=True)  # sent, and then the answer was lost
    if isinstance(exc, TimeoutError):
        return TransientPublishError("Discord did not answer in time", maybe_posted=unanswered)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return TransientPublishError(
            f"the connection to Discord failed ({type(exc).__name__})", maybe_posted=unanswered
        )
    raise exc


def _translate_http(exc: discord.HTTPException, *, maybe: bool, reading: bool) -> PublishError:
    status, code = exc.status, exc.code
    detail = exc.text.splitlines()[0] if exc.text else ""
    if status == 401:
        return PlatformRefused(Platform.DISCORD, LOGIN_REFUSED)
    if status == 404 and code == _UNKNOWN_CHANNEL:
        return PermanentPublishError("Discord says the channel no longer exists (Unknown Channel)")
    if status == 403 and code == _MISSING_ACCESS:
        return PermanentPublishError(
            "Discord says the bot cannot see this channel (Missing Access): it was removed "
            "from the server or the channel is hidden from it"
        )
    if status == 403 and code == _MISSING_PERMISSIONS:
        needed = "Read Message History" if reading else "Send Messages and Embed Links"
        return PermanentPublishError(
            f"Discord says the bot lacks a permission in this channel (Missing Permissions): "
            f"it needs View Channel, {needed}"
        )
    if status == 429:  # without Via: a proxy or Cloudflare, not Discord's bucket
        retry_after = _header_seconds(exc.response.headers.get("Retry-After"))
        return TransientPublishError("Discord (or a proxy) answered 429", retry_after)
    if status >= 500:
        return TransientPublishError(f"Discord answered HTTP {status}", maybe_posted=maybe)
    if code == 0:
        # No Discord error code: not Discord's verdict on this channel (a proxy, a wrong URL).
        return TransientPublishError(f"Discord answered HTTP {status} without an error code")
    if status == 400:
        # A payload Discord will not take (e.g. 50035 Invalid Form Body): this card, not the
        # channel, is the problem.
        return CardRejected(f"Discord refused this card (HTTP 400, code {code}: {detail})")
    return PermanentPublishError(f"Discord refused the post (HTTP {status}, code {code}: {detail})")
