"""A fake OpenAI-compatible chat endpoint on 127.0.0.1, for the LLM summarizer tier.

    async with FakeOpenAI() as llm:
        summarizer = LLMSummarizer(llm.base_url, key, "fake-model", timeout=0.2)
        llm.fault = Fault.SERVER_ERROR   # next answers are HTTP 500, until set back to None

It answers ``POST /v1/chat/completions`` with ``content`` (a string, or a function of the
request body) as the assistant message, counts the calls, and records each request's path,
JSON body and Authorization header.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Any, Self

from aiohttp import web

__all__ = ["DEFAULT_ANSWER", "FakeOpenAI", "Fault", "RecordedRequest"]

DEFAULT_ANSWER: dict[str, Any] = {
    "tldr": "A fake model summarizes the paper in one short sentence.",
    "points": ["It answers from loopback.", "It never touches the internet."],
}

Content = str | Callable[[Mapping[str, Any]], str]


class Fault(Enum):
    SERVER_ERROR = "500"  # HTTP 500 with an OpenAI-style error body
    RATE_LIMITED = "429"  # HTTP 429 with Retry-After
    GARBAGE = "garbage"  # a valid chat completion whose content is prose, not JSON
    NOT_JSON = "not-json"  # HTTP 200 with an HTML page instead of a JSON body
    STALL = "stall"  # no answer until the client has given up (or the server closes)
    TRICKLE = "trickle"  # a good completion, a few bytes at a time, each pause under a read timeout
    REFUSAL = "refusal"  # a chat completion with no content and a refusal, as OpenAI sends
    UNAUTHORIZED = "401"  # HTTP 401 whose message echoes the key back, as some proxies do


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    path: str
    body: Any  # the parsed JSON body, or the raw text when it was not JSON
    authorization: str | None


class FakeOpenAI:
    """The fake server; ``base_url`` is ``http://127.0.0.1:PORT/v1``."""

    def __init__(
        self,
        content: Content | None = None,
        *,
        reject_response_format: bool = False,
        stall_seconds: float = 30.0,
        trickle_pause: float = 0.05,
    ) -> None:
        self.content: Content = content if content is not None else json.dumps(DEFAULT_ANSWER)
        self.fault: Fault | None = None
        self.reject_response_format = reject_response_format  # like servers without JSON mode
        self.stall_seconds = stall_seconds
        self.trickle_pause = trickle_pause  # seconds between two 4-byte writes of a trickle
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def calls(self) -> int:
        """Requests that reached the chat completions route."""
        return sum(r.path == "/v1/chat/completions" for r in self.requests)

    @property
    def authorizations(self) -> list[str | None]:
        return [r.authorization for r in self.requests]

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()  # release stalled handlers so the shutdown does not wait
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        self.requests.append(
            RecordedRequest(request.path, body, request.headers.get("Authorization"))
        )
        if request.path != "/v1/chat/completions" or request.method != "POST":
            return _error(404, f"no route {request.method} {request.path}")
        if self.reject_response_format and isinstance(body, dict) and "response_format" in body:
            return _error(400, "Unrecognized request argument supplied: response_format")
        fault = self.fault
        if fault is Fault.SERVER_ERROR:
            return _error(500, "The server had an error while processing your request.")
        if fault is Fault.RATE_LIMITED:
            return _error(429, "Rate limit reached.", headers={"Retry-After": "7"})
        if fault is Fault.UNAUTHORIZED:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {given}.")
        if fault is Fault.NOT_JSON:
            return web.Response(
                text="<html><body>502 Bad Gateway</body></html>",
                status=200,
                content_type="text/html",
            )
        if fault is Fault.STALL:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.stall_seconds)
        if fault is Fault.TRICKLE:
            return await self._trickle(request, _completion(self.content_for(body), body, 0))
        if fault is Fault.REFUSAL:
            return web.json_response(_completion(None, body, len(self.requests)))
        if fault is Fault.GARBAGE:
            content = "I'm sorry, but as a language model I cannot summarize this paper."
        else:
            content = self.content_for(body)
        return web.json_response(_completion(content, body, len(self.requests)))

    def content_for(self, body: Any) -> str:
        if callable(self.content):
            return self.content(body if isinstance(body, dict) else {})
        return self.content

    async def _trickle(self, request: web.Request, answer: Any) -> web.StreamResponse:
        """``answer`` as JSON, 4 bytes per write and ``trickle_pause`` between writes."""
        data = json.dumps(answer).encode()
        response = web.StreamResponse(status=200)
        response.content_type = "application/json"
        response.content_length = len(data)
        await response.prepare(request)
        for start in range(0, len(data), 4):
            transport = request.transport
            if transport is None or transport.is_closing() or self._closing.is_set():
                break
            try:
                await response.write(data[start : start + 4])
            except ConnectionError:  # the client gave up
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.trickle_pause)
        return response


def _completion(content: str | None, body: Any, number: int) -> dict[str, Any]:
    model = body.get("model", "fake-model") if isinstance(body, dict) else "fake-model"
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if content is None:
        message["refusal"] = "I can't help with that."
    return {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": 1_763_553_600,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 30, "total_tokens": 130},
    }


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "fake_error", "code": status}}
    return web.json_response(body, status=status, headers=headers)
