"""Shared types for provider adapters: deployments, usage, errors, SSE parsing and streams."""

from __future__ import annotations

import asyncio
import base64
import math
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson

# The one pooled upstream client type: aiohttp, whose pool is O(1) per request (httpx/httpcore scan
# every pooled connection on each request and served ~550 RPS where aiohttp served ~12,000 here).
HTTPClient = aiohttp.ClientSession


@dataclass(frozen=True, slots=True)
class Deployment:
    """Where one model is served: the wire format, endpoint and credentials."""

    provider: str
    wire: str
    model: str
    base_url: str
    api_key: str = ""
    api_version: str = ""
    timeout: float = 60.0

    def url(self, path: str) -> str:
        """Join base_url and a path without doubling slashes."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def __repr__(self) -> str:
        # The key must never reach logs or error messages through a repr.
        return (
            f"Deployment(provider={self.provider!r}, wire={self.wire!r}, model={self.model!r}, "
            f"base_url={self.base_url!r})"
        )


@dataclass(slots=True)
class Usage:
    """Token counts as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    reported: bool = False

    @property
    def prompt_tokens(self) -> int:
        """All prompt tokens, however they are billed."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.output_tokens

    def update(self, other: Usage) -> None:
        """Overwrite every count with another Usage's (providers report cumulative totals)."""
        self.input_tokens = other.input_tokens
        self.output_tokens = other.output_tokens
        self.cache_read_tokens = other.cache_read_tokens
        self.cache_write_tokens = other.cache_write_tokens
        self.reasoning_tokens = other.reasoning_tokens
        self.reported = other.reported


def _int(value: Any) -> int:
    """Coerce a possibly missing or null count to int."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def usage_from_openai(u: dict | None) -> Usage:
    """Read an OpenAI-family usage object; prompt_tokens there includes cached tokens."""
    if not isinstance(u, dict) or not ("prompt_tokens" in u or "completion_tokens" in u):
        return Usage()
    prompt = _int(u.get("prompt_tokens"))
    pdetails = u.get("prompt_tokens_details") or {}
    cdetails = u.get("completion_tokens_details") or {}
    # DeepSeek reports cache hits at the top level instead of in prompt_tokens_details.
    cache_read = _int(pdetails.get("cached_tokens")) or _int(u.get("prompt_cache_hit_tokens"))
    cache_write = _int(pdetails.get("cache_write_tokens"))
    return Usage(
        input_tokens=max(prompt - cache_read - cache_write, 0),
        output_tokens=_int(u.get("completion_tokens")),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=_int(cdetails.get("reasoning_tokens")),
        reported=True,
    )


def usage_from_anthropic(u: dict | None) -> Usage:
    """Read an Anthropic usage object; input_tokens there excludes cache reads and writes."""
    if not isinstance(u, dict) or not u:
        return Usage()
    details = u.get("output_tokens_details") or {}
    return Usage(
        input_tokens=_int(u.get("input_tokens")),
        output_tokens=_int(u.get("output_tokens")),
        cache_read_tokens=_int(u.get("cache_read_input_tokens")),
        cache_write_tokens=_int(u.get("cache_creation_input_tokens")),
        reasoning_tokens=_int(details.get("thinking_tokens")),
        reported=True,
    )


def usage_from_gemini(m: dict | None) -> Usage:
    """Read Gemini usageMetadata; prompt includes cached content, candidates exclude thoughts."""
    if not isinstance(m, dict) or not m:
        return Usage()
    cached = _int(m.get("cachedContentTokenCount"))
    thoughts = _int(m.get("thoughtsTokenCount"))
    # Tool-use prompt tokens are billed as input but reported separately from promptTokenCount.
    prompt = _int(m.get("promptTokenCount")) + _int(m.get("toolUsePromptTokenCount"))
    return Usage(
        input_tokens=max(prompt - cached, 0),
        output_tokens=_int(m.get("candidatesTokenCount")) + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
        reported=True,
    )


def usage_to_openai(u: Usage) -> dict:
    """Render a Usage as an OpenAI usage object."""
    prompt_details: dict[str, int] = {"cached_tokens": u.cache_read_tokens}
    if u.cache_write_tokens:
        prompt_details["cache_write_tokens"] = u.cache_write_tokens
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }


def usage_to_anthropic(u: Usage) -> dict:
    """Render a Usage as an Anthropic usage object."""
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
    }


def estimate_tokens(text: str) -> int:
    """Rough token count used when a provider reports none: one token per four characters."""
    return math.ceil(len(text) / 4)


def message_text(content: Any) -> str:
    """Flatten OpenAI or Anthropic message content to its text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif part.get("type") == "tool_result":
                    parts.append(message_text(part.get("content")))
        return "\n".join(parts)
    return ""


def estimate_prompt_tokens(body: dict) -> int:
    """Estimate the prompt size of an OpenAI chat request from its message text."""
    text = "".join(message_text(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict))
    return estimate_tokens(text)


def estimate_chat_usage(body: dict, resp: dict) -> Usage:
    """Estimated usage for a chat completion whose provider reported none (reported stays False)."""
    text = ""
    for choice in resp.get("choices") or ():
        msg = choice.get("message") or {}
        text += message_text(msg.get("content"))
        for tc in msg.get("tool_calls") or ():
            text += (tc.get("function") or {}).get("arguments") or ""
    return Usage(input_tokens=estimate_prompt_tokens(body), output_tokens=estimate_tokens(text))


# ---------------------------------------------------------------- errors

_KEY_PATTERNS = re.compile(r"(sk-[A-Za-z0-9_\-*]{4,}|AIza[0-9A-Za-z_\-]{8,}|Bearer\s+\S+)")


def redact(message: str, secret: str = "") -> str:
    """Strip anything that looks like a credential from a provider message."""
    if secret and len(secret) >= 6:
        message = message.replace(secret, "[redacted]")
    return _KEY_PATTERNS.sub("[redacted]", message)


class ProviderError(Exception):
    """An upstream failure, carrying the provider's own message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "provider_error",
        code: str | None = None,
        retryable: bool = False,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.retryable = retryable
        self.upstream_status = upstream_status

    def __repr__(self) -> str:
        return f"ProviderError({self.status}, {self.message!r}, type={self.type!r}, retryable={self.retryable})"

    def to_openai(self) -> dict:
        """The OpenAI-shaped error body for this failure."""
        return {"error": {"message": self.message, "type": self.type, "param": None, "code": self.code}}

    def to_anthropic(self) -> dict:
        """The Anthropic-shaped error body for this failure."""
        kind = {
            "invalid_request_error": "invalid_request_error",
            "rate_limit_error": "rate_limit_error",
            "timeout": "timeout_error",
        }.get(self.type, "api_error")
        if self.status == 404:
            kind = "not_found_error"
        elif self.status == 413:
            kind = "request_too_large"
        return {"type": "error", "error": {"type": kind, "message": self.message}}


def error_for_status(upstream: int, message: str, code: str | None = None, *, secret: str = "") -> ProviderError:
    """Map an upstream HTTP status to the ProviderError we surface to our client."""
    message = redact(message, secret) or f"Upstream returned HTTP {upstream}"
    kw: dict[str, Any] = {"code": code, "upstream_status": upstream}
    if code == "API_KEY_INVALID":
        upstream = 401
    if upstream in (400, 404, 413, 422):
        return ProviderError(upstream, message, type="invalid_request_error", retryable=False, **kw)
    if upstream in (401, 403):
        # Our client's key is fine; the provider credential is wrong, so another deployment may work.
        return ProviderError(502, message, type="provider_auth_error", retryable=True, **kw)
    if upstream == 402:
        return ProviderError(502, message, type="provider_auth_error", retryable=True, **kw)
    if upstream == 408:
        return ProviderError(504, message, type="timeout", retryable=True, **kw)
    if upstream == 429:
        return ProviderError(429, message, type="rate_limit_error", retryable=True, **kw)
    if upstream >= 500 or upstream in (409, 529):
        return ProviderError(502, message, type="provider_error", retryable=True, **kw)
    return ProviderError(400, message, type="invalid_request_error", retryable=False, **kw)


def parse_error_body(raw: bytes | str) -> tuple[str, str | None]:
    """Pull (message, code) out of an OpenAI, Anthropic or Gemini error body."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return text.strip()[:500], None
    # Gemini streaming endpoints without alt=sse wrap the error in a JSON array.
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        return str(data)[:500], None
    err = data.get("error")
    if isinstance(err, dict):
        message = err.get("message") or ""
        # Gemini puts the symbolic name in status; Anthropic in type; OpenAI in code (or type).
        code = err.get("status") or err.get("code")
        if data.get("type") == "error" or (code is None and err.get("type")):
            code = err.get("type")
        for detail in err.get("details") or ():
            # Gemini reports a wrong key as 400 INVALID_ARGUMENT; only the detail reason tells them apart.
            if isinstance(detail, dict) and detail.get("reason") == "API_KEY_INVALID":
                code = "API_KEY_INVALID"
        return str(message), (str(code) if code is not None else None)
    if isinstance(err, str):
        return err, None
    if isinstance(data.get("message"), str):
        return data["message"], None
    return orjson.dumps(data).decode()[:500], None


class UpstreamResponse:
    """An open streaming response from a provider; close it with aclose()."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status_code = resp.status

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body's lines, without terminators, as they arrive."""
        async for raw in self._resp.content:
            yield raw.decode("utf-8", "replace").rstrip("\r\n")

    async def aclose(self) -> None:
        """Release the connection (closing it when the body was not fully read)."""
        self._resp.close()


async def raise_for_upstream(resp: aiohttp.ClientResponse, *, secret: str = "") -> None:
    """Read an upstream error response and raise the mapped ProviderError; no-op on success."""
    if resp.status < 400:
        return
    try:
        raw = await resp.read()
    except (TimeoutError, aiohttp.ClientError):
        raw = b""
    message, code = parse_error_body(raw) if raw else ("", None)
    raise error_for_status(resp.status, message, code, secret=secret)


def error_from_exception(exc: BaseException, dep: Deployment) -> ProviderError:
    """Map a transport failure to a ProviderError without leaking URLs or headers."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ProviderError(504, f"Timed out connecting to {dep.provider}", type="timeout", retryable=True)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        msg = f"{dep.provider} did not respond within {dep.timeout:g}s"
        return ProviderError(504, msg, type="timeout", retryable=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ProviderError(502, f"Could not connect to {dep.provider}", type="provider_unavailable", retryable=True)
    return ProviderError(
        502,
        f"Connection to {dep.provider} failed: {type(exc).__name__}",
        type="provider_unavailable",
        retryable=True,
    )


TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


async def post_json(client: HTTPClient, dep: Deployment, url: str, headers: dict[str, str], payload: dict) -> dict:
    """POST a JSON body and return the decoded JSON response, raising ProviderError on any failure."""
    try:
        async with client.post(
            url, data=orjson.dumps(payload), headers=headers, timeout=aiohttp.ClientTimeout(total=dep.timeout)
        ) as resp:
            await raise_for_upstream(resp, secret=dep.api_key)
            body = await resp.read()
    except TRANSPORT_ERRORS as exc:
        raise error_from_exception(exc, dep) from None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ProviderError(502, f"{dep.provider} returned invalid JSON", retryable=True) from None
    if not isinstance(data, dict):
        raise ProviderError(502, f"{dep.provider} returned an unexpected response", retryable=True)
    return data


async def open_stream(
    client: HTTPClient, dep: Deployment, url: str, headers: dict[str, str], payload: dict
) -> UpstreamResponse:
    """Send a streaming POST and return the open response once its status is known to be good.

    The timeout bounds the wait for the headers and for each chunk, not the whole stream.
    """
    timeout = aiohttp.ClientTimeout(total=None, connect=dep.timeout, sock_read=dep.timeout)
    try:
        resp = await client.post(url, data=orjson.dumps(payload), headers=headers, timeout=timeout)
    except TRANSPORT_ERRORS as exc:
        raise error_from_exception(exc, dep) from None
    if resp.status >= 400:
        try:
            await raise_for_upstream(resp, secret=dep.api_key)
        finally:
            resp.close()
    return UpstreamResponse(resp)


# ---------------------------------------------------------------- SSE


@dataclass(slots=True)
class SSEEvent:
    """One server-sent event: its name (None when unnamed) and data."""

    event: str | None
    data: str

    def json(self) -> Any:
        """Decode the data as JSON."""
        return orjson.loads(self.data)


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[SSEEvent]:
    """Parse SSE lines (without terminators) into events, dispatching on blank lines."""
    event: str | None = None
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield SSEEvent(event, "\n".join(data))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    # Be lenient with servers that close without the final blank line.
    if data:
        yield SSEEvent(event, "\n".join(data))


async def iter_response_sse(resp: UpstreamResponse, dep: Deployment) -> AsyncIterator[SSEEvent]:
    """Iterate SSE events of an open response, mapping transport failures to ProviderError."""
    try:
        async for ev in iter_sse(resp.aiter_lines()):
            yield ev
    except TRANSPORT_ERRORS as exc:
        raise error_from_exception(exc, dep) from None


def sse_event(name: str, data: dict) -> bytes:
    """Encode one named SSE event (Anthropic style)."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def sse_data(data: dict) -> bytes:
    """Encode one unnamed SSE data event (OpenAI style)."""
    return b"data: " + orjson.dumps(data) + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"


# ---------------------------------------------------------------- chunks and streams


def new_id(prefix: str = "chatcmpl-") -> str:
    """A fresh random id with the given prefix."""
    return prefix + uuid.uuid4().hex[:24]


def make_chunk(
    cid: str, created: int, model: str, delta: dict, finish_reason: str | None = None, index: int = 0
) -> dict:
    """Build one OpenAI chat.completion.chunk with a single choice."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason}],
    }


def usage_chunk(cid: str, created: int, model: str, usage: Usage | dict) -> dict:
    """Build the trailing usage chunk (stream_options.include_usage shape)."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage if isinstance(usage, dict) else usage_to_openai(usage),
    }


def count_content_deltas(chunk: dict) -> int:
    """How many content-bearing deltas a chunk carries (used to estimate tokens on disconnect)."""
    n = 0
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("reasoning_content"):
            n += 1
        for tc in delta.get("tool_calls") or ():
            if (tc.get("function") or {}).get("arguments"):
                n += 1
    return n


class ChatStream:
    """Async iterator of OpenAI chunks (or raw events) with a running Usage; connects on first __anext__."""

    def __init__(
        self,
        run: Callable[[ChatStream], AsyncIterator[dict]],
        *,
        model: str = "",
        prompt_estimate: int = 0,
        count: Callable[[Any], int] = count_content_deltas,
    ) -> None:
        self.usage = Usage()
        self._count = count
        self.model = model
        self.content_deltas = 0
        self.chunks = 0
        self.completed = False
        self.closed = False
        self.usage_final = False
        self._prompt_estimate = prompt_estimate
        self._gen = run(self)

    def __aiter__(self) -> ChatStream:
        return self

    def __await__(self) -> Generator[Any, None, ChatStream]:
        # Lets callers write either `adapter.chat_stream(...)` or `await adapter.chat_stream(...)`.
        return _identity(self).__await__()

    async def __anext__(self) -> Any:
        try:
            chunk = await self._gen.__anext__()
        except StopAsyncIteration:
            self.completed = True
            self._settle()
            raise
        except BaseException:
            self._settle()
            raise
        self.chunks += 1
        self.content_deltas += self._count(chunk)
        return chunk

    async def aclose(self) -> None:
        """Stop early (client disconnect); usage keeps the tokens seen so far."""
        if self.closed:
            return
        self.closed = True
        try:
            await self._gen.aclose()
        finally:
            self._settle()

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def finalize(self) -> None:
        """Freeze usage at the end of a stream, estimating whatever the provider never reported."""
        self._settle()
        self.usage_final = True

    def _settle(self) -> None:
        # A stream that failed before its first chunk consumed nothing we should bill.
        if self.usage_final or not self.chunks:
            return
        # Reported output counts arrive last; after an early stop the delta count is the better floor.
        self.usage.output_tokens = max(self.usage.output_tokens, self.content_deltas)
        if not self.usage.reported and not self.usage.input_tokens:
            self.usage.input_tokens = self._prompt_estimate


async def _identity(value: Any) -> Any:
    return value


class Adapter(Protocol):
    """What every wire-format adapter offers."""

    async def chat(self, client: HTTPClient, dep: Deployment, body: dict) -> tuple[dict, Usage]: ...

    def chat_stream(self, client: HTTPClient, dep: Deployment, body: dict) -> ChatStream: ...

    async def embeddings(self, client: HTTPClient, dep: Deployment, body: dict) -> tuple[dict, Usage]: ...


# ---------------------------------------------------------------- small shared helpers


def now() -> int:
    """Current unix time in whole seconds."""
    return int(time.time())


def parse_data_url(url: str) -> tuple[str, str] | None:
    """Split a base64 data: URL into (media_type, data); None for anything else."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or ";base64" not in header:
        return None
    return header.split(";", 1)[0] or "application/octet-stream", data


def loads_arguments(arguments: Any) -> dict:
    """Parse tool-call arguments into an object, keeping unparseable text instead of failing."""
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        # Models occasionally emit broken JSON; replaying the history must not break the conversation.
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def dumps(value: Any) -> str:
    """Compact JSON text."""
    return orjson.dumps(value).decode()


def embedding_inputs(body: dict) -> list[str]:
    """The input texts of an OpenAI embeddings request."""
    raw = body.get("input")
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return list(raw)
    raise ProviderError(
        400,
        "This model only accepts text input for embeddings",
        type="invalid_request_error",
        code="invalid_input",
    )


def encode_embedding(values: list[float], encoding_format: str | None) -> list[float] | str:
    """Render a vector as floats or as the base64 float32 string the OpenAI SDK asks for by default."""
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
    return values


def openai_embeddings_response(vectors: list[list[float]], model: str, fmt: str | None, prompt_tokens: int) -> dict:
    """Build an OpenAI embeddings response."""
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encode_embedding(v, fmt)} for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
