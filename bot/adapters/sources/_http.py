"""One shared, polite HTTP client for every paper source.

It adds what each source would otherwise get wrong on its own: timeouts, a total deadline
per request (a server that trickles its answer cannot hold the connection, nor the arXiv
limiter, for ever), retries with exponential backoff and jitter (timeouts, connection errors,
429 and 5xx, honouring Retry-After), redirects followed only within the requested origin,
conditional GET (an unchanged document costs a 304), a descriptive User-Agent, a cap on the
response size, and a process-wide limiter that spaces the requests to arXiv.
Foreign errors leave this module only as the ``SourceError`` tree of ``bot.services.ports``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Container, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import httpx

from bot.services.ports import (
    SourceBadResponse,
    SourceRateLimited,
    SourceRequestRejected,
    SourceUnavailable,
)

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [
    "DEADLINE_PER_TIMEOUT",
    "HostLimiter",
    "HttpClient",
    "HttpResponse",
    "parse_retry_after",
    "redirect_allowed",
]

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

_MB = 1024 * 1024
# A whole request (every attempt and the waits between them) may take this many per-read
# timeouts: room for one retry after a stall, and still an answer within the minute a person
# waiting on ``paperwire card`` or a poll job expects with the default 20 s timeout.
DEADLINE_PER_TIMEOUT = 2.0
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A fully read response: status, headers (lower-case names) and body bytes."""

    status: int
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class HostLimiter:
    """At most one request at a time to a service, each at least ``min_interval`` after the last.

    ``prefixes`` are URL prefixes (scheme, host, port and path start) the limit covers: for
    arXiv both the API and the listing-feed base URLs share one limiter, as arXiv's terms ask.
    The interval runs from the end of one request to the start of the next, which is stricter
    than start-to-start. ``clock`` and ``sleep`` are injectable so tests do not wait.
    """

    def __init__(
        self,
        min_interval: float,
        *,
        prefixes: Iterable[str],
        name: str = "arxiv",
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0")
        self.min_interval = min_interval
        self.name = name
        self.prefixes = tuple(_normalise_prefix(p) for p in prefixes)
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last_done: float | None = None

    def covers(self, url: str) -> bool:
        target = _normalise_prefix(url)
        return any(target.startswith(prefix) for prefix in self.prefixes)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold the service's only connection slot for one request."""
        async with self._lock:
            if self._last_done is not None:
                wait = self._last_done + self.min_interval - self._clock()
                if wait > 0:
                    log.debug("%s limiter: waiting %.3f s", self.name, wait)
                    await self._sleep(wait)
            try:
                yield
            finally:
                self._last_done = self._clock()


def _normalise_prefix(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme.lower()}://{host}:{port}{parts.path}"


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class _RedirectRefused(Exception):
    """A redirect that leaves the requested origin: never followed, never retried."""

    def __init__(self, target: str, origin: str) -> None:
        super().__init__(target)
        self.target = target
        self.origin = origin


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port if url.port is not None else default


def redirect_allowed(source: httpx.URL, target: httpx.URL) -> bool:
    """Whether a redirect from ``source`` to ``target`` stays within the source's origin.

    The same scheme, host and port; or an http -> https upgrade of the same host (to 443 from
    the default port, else to the same port). Applied hop by hop, so a chain never leaves
    the requested origin and its https twin: not for another host (the cloud metadata address
    included), nor for another scheme such as file://.
    """
    scheme, host, port = _origin(source)
    to_scheme, to_host, to_port = _origin(target)
    if to_host != host or to_scheme not in ("http", "https"):
        return False
    if to_scheme == scheme:
        return to_port == port
    upgraded_port = 443 if port == 80 else port
    return scheme == "http" and to_scheme == "https" and to_port == upgraded_port


async def _check_redirect(response: httpx.Response) -> None:
    """httpx response hook: refuse a redirect out of the origin before it is followed."""
    location = response.headers.get("location")
    if response.status_code not in _REDIRECTS or location is None:
        return
    source = response.request.url
    where = f"{source.scheme}://{source.netloc.decode('ascii')}"
    try:
        target = source.join(location)
    except httpx.InvalidURL as exc:
        raise _RedirectRefused(_describe(location), where) from exc
    if not redirect_allowed(source, target):
        raise _RedirectRefused(_describe(str(target)), where)


class _Retryable(Exception):
    """One failed attempt that may succeed if tried again."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        truncated: bool = False,
        expired: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.truncated = truncated
        self.expired = expired  # the request's deadline ran out during this attempt


class HttpClient:
    """The shared async HTTP client; use it as an async context manager (it owns its pool).

    ``request``/``get``/``post_json`` return an ``HttpResponse`` for 2xx, for 304 (conditional
    GET) and for any status listed in ``accept``; they retry what is transient and raise
    ``SourceUnavailable``/``SourceRateLimited`` when retries or the deadline run out,
    ``SourceRequestRejected`` for other 4xx answers, and ``SourceBadResponse`` for an oversized
    or truncated body or a redirect out of the requested origin.

    ``timeout`` bounds each connect and each read (a stall); ``deadline`` bounds the whole
    request: every attempt (connect, send, the whole body) and the backoff between them, so
    each attempt gets only what is left. Waiting for the arXiv limiter's turn is not counted:
    the request holding it is bounded by its own deadline.
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float = 20.0,
        connect_timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int = 4,
        max_response_bytes: int = 25 * _MB,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_retry_after: float = 300.0,
        limiters: Iterable[HostLimiter] = (),
        sleep: Sleep = asyncio.sleep,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.user_agent = user_agent
        self.deadline = deadline if deadline is not None else timeout * DEADLINE_PER_TIMEOUT
        if self.deadline <= 0:
            raise ValueError("deadline must be > 0")
        self.max_retries = max_retries
        self.max_response_bytes = max_response_bytes
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.limiters = tuple(limiters)
        self._timeout = httpx.Timeout(
            timeout, connect=connect_timeout if connect_timeout is not None else min(timeout, 10.0)
        )
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._rng = rng
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **overrides: Any,
    ) -> HttpClient:
        """The client the app uses: settings' timeouts, retries, size cap, UA and arXiv limiter.

        The deadline of a whole request is ``DEADLINE_PER_TIMEOUT`` times the timeout.
        """
        arxiv = HostLimiter(
            settings.arxiv_min_interval_seconds,
            prefixes=(settings.arxiv_api_url, settings.arxiv_rss_url),
            name="arxiv",
        )
        options: dict[str, Any] = {
            "user_agent": settings.user_agent,
            "timeout": settings.http_timeout_seconds,
            "max_retries": settings.http_max_retries,
            "max_response_bytes": int(settings.http_max_response_mb * _MB),
            "limiters": (arxiv,),
            "transport": transport,
        }
        options.update(overrides)
        return cls(**options)

    async def __aenter__(self) -> Self:
        if self._client is not None:
            raise RuntimeError("HttpClient is already open")
        self._client = httpx.AsyncClient(
            headers={"User-Agent": self.user_agent},
            timeout=self._timeout,
            follow_redirects=True,
            max_redirects=5,
            event_hooks={"response": [_check_redirect]},
            transport=self._transport,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def limiter_for(self, url: str) -> HostLimiter | None:
        for limiter in self.limiters:
            if limiter.covers(url):
                return limiter
        return None

    async def get(
        self,
        url: str,
        *,
        source: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: Container[int] = (),
    ) -> HttpResponse:
        """GET with retries; ``etag``/``last_modified`` make it conditional (a 304 answer)."""
        conditional = dict(headers or {})
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        return await self.request(
            "GET", url, source=source, params=params, headers=conditional, accept=accept
        )

    async def post_json(
        self,
        url: str,
        *,
        source: str,
        json: Any,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        accept: Container[int] = (),
    ) -> HttpResponse:
        return await self.request(
            "POST", url, source=source, params=params, headers=headers, json=json, accept=accept
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        source: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        accept: Container[int] = (),
    ) -> HttpResponse:
        client = self._client
        if client is None:
            raise RuntimeError("HttpClient is not open: use 'async with HttpClient(...)'")
        limiter = self.limiter_for(url)
        where = _describe(url)
        loop = asyncio.get_running_loop()
        spent = 0.0  # seconds of this request's deadline used: attempts and backoff waits
        attempt = 0
        while True:
            attempt += 1
            slot: AbstractAsyncContextManager[None] = (
                limiter.slot() if limiter is not None else nullcontext()
            )
            try:
                async with slot:
                    started = loop.time()
                    try:
                        async with asyncio.timeout(self.deadline - spent) as scope:
                            return await self._attempt(
                                client, method, url, source, params, headers, json, accept
                            )
                    except TimeoutError as exc:
                        if not scope.expired():
                            raise
                        raise _Retryable(
                            f"timed out (no complete answer within the {self.deadline:g} s"
                            " deadline)",
                            expired=True,
                        ) from exc
                    finally:
                        spent += loop.time() - started
            except _Retryable as failure:
                if attempt > self.max_retries:
                    raise self._final_error(source, where, attempt, failure) from (
                        failure.__cause__ or failure
                    )
                retry_after = failure.retry_after
                if retry_after is not None and retry_after > self.max_retry_after:
                    # The service asks for a longer pause than a poll should sleep: give up
                    # now and let the scheduler come back later, rather than ignore it.
                    raise self._final_error(source, where, attempt, failure) from (
                        failure.__cause__ or failure
                    )
                delay = self._backoff(attempt)
                if retry_after is not None:
                    delay = max(delay, retry_after)
                if spent + delay >= self.deadline:
                    # No time left for another try: say so now rather than sleep past it.
                    raise self._final_error(
                        source, where, attempt, failure, out_of_time=not failure.expired
                    ) from (failure.__cause__ or failure)
                log.debug(
                    "%s: %s from %s (attempt %d of %d); retrying in %.2f s",
                    source,
                    failure.reason,
                    where,
                    attempt,
                    self.max_retries + 1,
                    delay,
                )
                spent += delay
                await self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with 'equal jitter': half fixed, half random."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._rng() * ceiling / 2

    def _final_error(
        self,
        source: str,
        where: str,
        attempts: int,
        failure: _Retryable,
        *,
        out_of_time: bool = False,
    ) -> SourceUnavailable | SourceBadResponse:
        tries = f"{attempts} attempt" + ("s" if attempts != 1 else "")
        why = f": another would pass the {self.deadline:g} s deadline" if out_of_time else ""
        message = f"{failure.reason} from {where} (gave up after {tries}{why})"
        if failure.status == 429:
            return SourceRateLimited(source, message, retry_after=failure.retry_after)
        if failure.truncated:
            return SourceBadResponse(source, message)
        return SourceUnavailable(source, message)

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        source: str,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str] | None,
        json: Any,
        accept: Container[int],
    ) -> HttpResponse:
        try:
            async with client.stream(
                method, url, params=params, headers=headers, json=json
            ) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    retry_after = parse_retry_after(
                        response.headers.get("retry-after"), now=self._wall_clock()
                    )
                    raise _Retryable(f"HTTP {status}", status=status, retry_after=retry_after)
                if status == 304:
                    return _wrap(response, b"")
                if not (200 <= status < 300 or status in accept):
                    raise SourceRequestRejected(source, f"HTTP {status} from {_describe(url)}")
                body = await self._read_capped(response, source)
                return _wrap(response, body)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from exc
        except httpx.DecodingError as exc:
            raise SourceBadResponse(source, f"undecodable body from {_describe(url)}") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__}: {exc})") from exc
        except httpx.TooManyRedirects as exc:
            raise SourceBadResponse(source, f"too many redirects from {_describe(url)}") from exc
        except _RedirectRefused as exc:
            raise SourceBadResponse(
                source,
                f"{_describe(url)} redirected to {exc.target}, outside {exc.origin}: not followed"
                " (if the service moved, update its URL setting)",
            ) from exc
        except httpx.HTTPError as exc:
            raise SourceUnavailable(source, f"{type(exc).__name__}: {exc}") from exc
        except httpx.InvalidURL as exc:
            raise SourceRequestRejected(source, f"invalid URL {url!r}: {exc}") from exc

    async def _read_capped(self, response: httpx.Response, source: str) -> bytes:
        cap = self.max_response_bytes
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise SourceBadResponse(
                source, f"response of {int(declared)} bytes exceeds the {cap}-byte cap"
            )
        chunks: list[bytes] = []
        total = 0
        try:
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > cap:
                    raise SourceBadResponse(source, f"response exceeds the {cap}-byte cap")
                chunks.append(chunk)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Retryable(
                f"truncated body after {total} bytes ({type(exc).__name__})", truncated=True
            ) from exc
        return b"".join(chunks)


def _wrap(response: httpx.Response, body: bytes) -> HttpResponse:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return HttpResponse(
        status=response.status_code, url=str(response.url), headers=headers, content=body
    )


def _describe(url: str) -> str:
    """The URL without its query string: enough to say where, never a key or token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
