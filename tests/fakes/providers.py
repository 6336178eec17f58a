"""Fake OpenAI, Azure OpenAI, Anthropic and Gemini servers speaking the real wire formats."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import socket
import string
import struct
import threading
import time
from typing import Any
from urllib.parse import parse_qs

import orjson
import uvicorn

from routing.providers.base import Deployment

PREFIXES = ("openai", "azure", "anthropic", "gemini")
# "raw" behaves exactly like "ok"; benchmarks use it to say they measure the fake's own latency.
MODES = ("ok", "raw", "slow", "stall_stream", "no_usage", "error_400", "error_401", "error_429", "error_500")
MAX_LOGGED_REQUESTS = 10_000

# Deterministic usage, identical across providers once normalised to routing.providers.Usage:
#   uncached prompt tokens = 10 + number of whitespace-separated words in all message text
#       (system prompt, user/assistant text, tool results; not tool definitions or images)
#   completion tokens      = words in the reply text, or TOOL_CALL_COMPLETION_TOKENS for a tool call
#   cached prompt tokens   = set_mode(p, "ok", cached=N)  (0 by default). Anthropic instead reports
#       cache_read=ANTHROPIC_CACHE_READ and cache_creation=ANTHROPIC_CACHE_WRITE whenever the request
#       contains any cache_control; cached=/cache_write= override those.
#   reasoning tokens       = set_mode(p, "ok", reasoning=N)  (0 by default), added to completion tokens.
# Wire semantics follow the real APIs: OpenAI prompt_tokens and Gemini promptTokenCount include cached
# tokens, Anthropic input_tokens excludes them; Gemini candidatesTokenCount excludes thoughts.
BASE_PROMPT_TOKENS = 10
TOOL_CALL_COMPLETION_TOKENS = 9
ANTHROPIC_CACHE_READ = 32
ANTHROPIC_CACHE_WRITE = 16
WEATHER_ARGS = {"city": "Paris"}
ANTHROPIC_TOOL_PREFACE = "Let me check the weather."
EMBEDDING_DIMS = 8

ERROR_400_MESSAGE = "bad param: temperature"
ERROR_429_MESSAGE = "Rate limit reached, please retry later"
ERROR_500_MESSAGE = "upstream exploded"
BAD_KEY = "bad-key"  # any other non-empty key is accepted
OPENAI_401_MESSAGE = (
    "Incorrect API key provided: sk-fake**********cdef. You can find your API key at "
    "https://platform.openai.com/account/api-keys."
)
AZURE_401_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
ANTHROPIC_401_MESSAGE = "invalid x-api-key"
GEMINI_401_MESSAGE = "Request had invalid authentication credentials."
GEMINI_BAD_KEY_MESSAGE = "API key not valid. Please pass a valid API key."

_ALNUM = string.ascii_letters + string.digits


def _rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def reply_text(provider: str, said: str) -> str:
    """The fake's deterministic reply."""
    return f"Hello from {provider}! You said: {said}"


def words(text: str) -> int:
    """Whitespace-separated word count."""
    return len(text.split())


def fake_vector(text: str) -> list[float]:
    """A deterministic 8-dim vector from the text's sha256."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round(b / 255.0 * 2 - 1, 6) for b in digest[:EMBEDDING_DIMS]]


def _pieces(text: str) -> list[str]:
    # One chunk per word, keeping the separating space so the chunks concatenate back exactly.
    parts = text.split(" ")
    return [p + " " for p in parts[:-1]] + [parts[-1]]


def _split_args(args: str) -> list[str]:
    # Real providers cut arguments at arbitrary places, including mid-token.
    third = max(len(args) // 3, 1)
    return [args[:third], args[third : 2 * third], args[2 * third :]]


def _openai_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text")


def _anthropic_text(content: Any, *, tool_results: bool = True) -> str:
    if isinstance(content, str):
        return content
    out = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            out.append(block.get("text", ""))
        elif block.get("type") == "tool_result" and tool_results:
            out.append(_anthropic_text(block.get("content")))
    return " ".join(out)


def _gemini_text(parts: Any, *, tool_results: bool = True) -> str:
    out = []
    for part in parts or []:
        if "text" in part:
            out.append(part["text"])
        elif "functionResponse" in part and tool_results:
            response = part["functionResponse"].get("response") or {}
            value = response.get("content", response)
            out.append(value if isinstance(value, str) else orjson.dumps(value).decode())
    return " ".join(out)


def _has_cache_control(value: Any) -> bool:
    if isinstance(value, dict):
        return "cache_control" in value or any(_has_cache_control(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_cache_control(v) for v in value)
    return False


class ClientGone(Exception):
    """The client disconnected before the response was complete."""


class _Responder:
    """Writes one HTTP response through the ASGI callables, noticing when the client goes away."""

    def __init__(self, send: Any, receive: Any, chunk_delay: float = 0.0) -> None:
        self.send = send
        self.receive = receive
        self.started = False
        self.ended = False
        self.chunk_delay = chunk_delay
        self.gone = asyncio.Event()
        self._watcher: asyncio.Future | None = None

    def watch(self) -> None:
        """Start listening for http.disconnect (uvicorn silently drops writes to a closed socket)."""
        if self._watcher is None:
            self._watcher = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                # uvicorn also reports disconnect once the response is complete; that one is not a hang-up.
                if not self.ended:
                    self.gone.set()
                return

    async def pause(self, delay: float) -> None:
        """Sleep, but stop early (raising ClientGone) if the client disconnects meanwhile."""
        self.watch()
        try:
            await asyncio.wait_for(self.gone.wait(), delay)
        except TimeoutError:
            return
        raise ClientGone

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()

    async def json(self, status: int, obj: Any) -> None:
        if self.gone.is_set():
            raise ClientGone
        body = orjson.dumps(obj)
        self.started = True
        self.ended = True
        await self.send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await self.send({"type": "http.response.body", "body": body})

    async def start_stream(self) -> None:
        if self.gone.is_set():
            raise ClientGone
        self.started = True
        self.watch()
        await self.send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
            }
        )

    async def write(self, data: bytes) -> None:
        if self.gone.is_set():
            raise ClientGone
        await self.send({"type": "http.response.body", "body": data, "more_body": True})
        # Yield to the loop so every event really leaves as its own write.
        await asyncio.sleep(self.chunk_delay)

    async def end(self) -> None:
        if self.gone.is_set():
            raise ClientGone
        self.ended = True
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})


def _sse(data: Any, event: str | None = None, sep: bytes = b"\n\n") -> bytes:
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + orjson.dumps(data) + sep


class FakeProviderApp:
    """The raw ASGI app behind FakeProviders; usable on its own with any ASGI server or transport."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.modes: dict[str, tuple[str, dict[str, Any]]] = {}
        self.disconnects: dict[str, int] = {}

    # ------------------------------------------------------------ plumbing

    def mode(self, prefix: str) -> tuple[str, dict[str, Any]]:
        return self.modes.get(prefix, ("ok", {}))

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode()
        path = scope["path"]
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        if len(self.requests) >= MAX_LOGGED_REQUESTS:
            # Long benchmark runs must not grow memory without bound; tests only look at recent requests.
            del self.requests[: MAX_LOGGED_REQUESTS // 2]
        self.requests.append((path + ("?" + query if query else ""), headers, body))
        prefix = path.split("/", 2)[1] if path.count("/") >= 2 else ""
        _, kw = self.mode(prefix)
        out = _Responder(send, receive, float(kw.get("chunk_delay", 0.0)))
        try:
            await self.route(path, parse_qs(query), headers, body, out)
        except ClientGone:
            self.disconnects[prefix] = self.disconnects.get(prefix, 0) + 1
        finally:
            out.close()

    async def route(self, path: str, query: dict, headers: dict, body: Any, out: _Responder) -> None:
        if scope_is(path, "/openai/v1/chat/completions"):
            return await self.openai_chat("openai", headers, body or {}, out)
        if scope_is(path, "/openai/v1/embeddings"):
            return await self.openai_embeddings("openai", headers, body or {}, out)
        m = re.fullmatch(r"/azure/openai/deployments/([^/]+)/(chat/completions|embeddings)", path)
        if m:
            if not query.get("api-version"):
                return await out.json(404, {"error": {"code": "404", "message": "Resource not found"}})
            if m.group(2) == "embeddings":
                return await self.openai_embeddings("azure", headers, body or {}, out, model=m.group(1))
            return await self.openai_chat("azure", headers, body or {}, out, model=m.group(1))
        if scope_is(path, "/anthropic/v1/messages"):
            return await self.anthropic_messages(headers, body or {}, out)
        if scope_is(path, "/anthropic/v1/messages/count_tokens"):
            return await self.anthropic_count_tokens(headers, body or {}, out)
        m = re.fullmatch(
            r"/gemini/v1beta/models/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)", path
        )
        if m:
            if m.group(2) == "batchEmbedContents":
                return await self.gemini_embed(headers, query, body or {}, out)
            stream = m.group(2) == "streamGenerateContent"
            return await self.gemini_generate(m.group(1), headers, query, body or {}, out, stream=stream)
        await out.json(404, {"error": {"message": f"No fake route for {path}", "type": "not_found"}})

    # ------------------------------------------------------------ errors and modes

    async def _error(self, prefix: str, status: int, out: _Responder) -> None:
        if status == 400:
            message = ERROR_400_MESSAGE
        elif status in (401, 403):
            message = {
                "openai": OPENAI_401_MESSAGE,
                "azure": AZURE_401_MESSAGE,
                "anthropic": ANTHROPIC_401_MESSAGE,
                "gemini": GEMINI_401_MESSAGE,
            }[prefix]
        elif status == 429:
            message = ERROR_429_MESSAGE
        else:
            message = ERROR_500_MESSAGE
        await out.json(status, error_body(prefix, status, message))

    async def _preamble(self, prefix: str, out: _Responder) -> bool:
        """Apply error and slow modes; True when a response was already sent."""
        mode, kw = self.mode(prefix)
        if mode.startswith("error_"):
            await self._error(prefix, int(mode.removeprefix("error_")), out)
            return True
        if mode == "slow":
            await out.pause(float(kw.get("delay", 2.0)))
        return False

    async def _stall(self, prefix: str, out: _Responder) -> None:
        mode, kw = self.mode(prefix)
        if mode == "stall_stream":
            await out.pause(float(kw.get("delay", 2.0)))

    # ------------------------------------------------------------ OpenAI and Azure

    async def _openai_auth(self, prefix: str, headers: dict, out: _Responder) -> bool:
        if prefix == "azure":
            key = headers.get("api-key", "")
            if not key or key == BAD_KEY:
                await out.json(401, {"error": {"code": "401", "message": AZURE_401_MESSAGE}})
                return False
            return True
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            message = "You didn't provide an API key. You need to provide your API key in an Authorization header."
            await out.json(401, error_body("openai", 401, message))
            return False
        if auth[7:].strip() == BAD_KEY:
            await out.json(401, error_body("openai", 401, OPENAI_401_MESSAGE))
            return False
        return True

    async def openai_chat(
        self, prefix: str, headers: dict, body: dict, out: _Responder, *, model: str | None = None
    ) -> None:
        if not await self._openai_auth(prefix, headers, out) or await self._preamble(prefix, out):
            return
        mode, kw = self.mode(prefix)
        model = model or body.get("model") or "unknown"
        messages = body.get("messages") or []
        said = next((_openai_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        tool = bool(body.get("tools")) and bool(messages) and messages[-1].get("role") == "user"
        tool = tool and "weather" in _openai_text(messages[-1].get("content")).lower()
        reply = reply_text(prefix, said)
        cached = int(kw.get("cached", 0))
        reasoning = int(kw.get("reasoning", 0))
        prompt = BASE_PROMPT_TOKENS + sum(words(_openai_text(m.get("content"))) for m in messages) + cached
        completion = (TOOL_CALL_COMPLETION_TOKENS if tool else words(reply)) + reasoning
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        cid, created = "chatcmpl-" + _rand(29), int(time.time())
        call_id = "call_" + _rand(24)
        args = orjson.dumps(WEATHER_ARGS).decode()
        if not body.get("stream"):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None if tool else reply,
                "refusal": None,
            }
            if tool:
                message["tool_calls"] = [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": args},
                    }
                ]
            message["annotations"] = []
            resp: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": "tool_calls" if tool else "stop",
                    }
                ],
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
            }
            if mode != "no_usage":
                resp["usage"] = usage
            return await out.json(200, resp)

        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and mode != "no_usage"

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            obj: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                obj["usage"] = None
            return _sse(obj)

        await out.start_stream()
        if tool:
            first = {
                "index": 0,
                "id": call_id,
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
            await out.write(chunk({"role": "assistant", "content": None, "tool_calls": [first], "refusal": None}))
            for i, piece in enumerate(_split_args(args)):
                await out.write(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
                if i == 0:
                    await self._stall(prefix, out)
            await out.write(chunk({}, "tool_calls"))
        else:
            await out.write(chunk({"role": "assistant", "content": "", "refusal": None}))
            for i, piece in enumerate(_pieces(reply)):
                await out.write(chunk({"content": piece}))
                if i == 0:
                    await self._stall(prefix, out)
            await out.write(chunk({}, "stop"))
        if include_usage:
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": usage,
            }
            await out.write(_sse(obj))
        await out.write(b"data: [DONE]\n\n")
        await out.end()

    async def openai_embeddings(
        self, prefix: str, headers: dict, body: dict, out: _Responder, *, model: str | None = None
    ) -> None:
        if not await self._openai_auth(prefix, headers, out) or await self._preamble(prefix, out):
            return
        mode, _ = self.mode(prefix)
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        data = []
        for i, text in enumerate(texts):
            vector = fake_vector(str(text))
            embedding: Any = vector
            if body.get("encoding_format") == "base64":
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        tokens = sum(words(str(t)) for t in texts)
        resp: dict[str, Any] = {"object": "list", "data": data, "model": model or body.get("model")}
        if mode != "no_usage":
            resp["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
        await out.json(200, resp)

    # ------------------------------------------------------------ Anthropic

    async def anthropic_count_tokens(self, headers: dict, body: dict, out: _Responder) -> None:
        if not (headers.get("x-api-key") or headers.get("authorization")) or "max_tokens" in body:
            return await out.json(400, error_body("anthropic", 400, "max_tokens: Extra inputs are not permitted"))
        texts = [_anthropic_text(body.get("system"))] + [_anthropic_text(m.get("content")) for m in body["messages"]]
        await out.json(200, {"input_tokens": BASE_PROMPT_TOKENS + sum(words(t) for t in texts)})

    async def anthropic_messages(self, headers: dict, body: dict, out: _Responder) -> None:
        # Newer SDKs authenticate with a Bearer token instead of x-api-key; the API takes either.
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not key or key == BAD_KEY:
            return await out.json(401, error_body("anthropic", 401, ANTHROPIC_401_MESSAGE))
        if not headers.get("anthropic-version"):
            return await out.json(400, error_body("anthropic", 400, "anthropic-version: header is required"))
        if await self._preamble("anthropic", out):
            return
        mode, kw = self.mode("anthropic")
        model = body.get("model") or "unknown"
        messages = body.get("messages") or []
        said = ""
        for m in reversed(messages):
            if m.get("role") == "user":
                said = _anthropic_text(m.get("content"), tool_results=False)
                if said:
                    break
        last = messages[-1] if messages else {}
        tool = bool(body.get("tools")) and last.get("role") == "user"
        tool = tool and "weather" in _anthropic_text(last.get("content"), tool_results=False).lower()
        reply = reply_text("anthropic", said)
        system_words = words(_anthropic_text(body.get("system")))
        input_tokens = (
            BASE_PROMPT_TOKENS + system_words + sum(words(_anthropic_text(m.get("content"))) for m in messages)
        )
        caching = _has_cache_control(body)
        cache_read = int(kw.get("cached", ANTHROPIC_CACHE_READ)) if caching else 0
        cache_write = int(kw.get("cache_write", ANTHROPIC_CACHE_WRITE)) if caching else 0
        reasoning = int(kw.get("reasoning", 0))
        output_tokens = (TOOL_CALL_COMPLETION_TOKENS if tool else words(reply)) + reasoning
        usage: dict[str, Any] = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }
        if reasoning:
            usage["output_tokens_details"] = {"thinking_tokens": reasoning}
        mid = "msg_01" + _rand(22)
        tool_id = "toolu_01" + _rand(22)
        stop_reason = "tool_use" if tool else "end_turn"
        if not body.get("stream"):
            if tool:
                content: list[dict] = [
                    {"type": "text", "text": ANTHROPIC_TOOL_PREFACE},
                    {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": WEATHER_ARGS},
                ]
            else:
                content = [{"type": "text", "text": reply}]
            resp: dict[str, Any] = {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": None,
            }
            if mode != "no_usage":
                resp["usage"] = usage
            return await out.json(200, resp)

        def ev(name: str, data: dict) -> bytes:
            return _sse({"type": name, **data}, event=name)

        start_message: dict[str, Any] = {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
        }
        if mode != "no_usage":
            start_message["usage"] = {**usage, "output_tokens": 1}
            start_message["usage"].pop("output_tokens_details", None)
        await out.start_stream()
        await out.write(ev("message_start", {"message": start_message}))
        text = ANTHROPIC_TOOL_PREFACE if tool else reply
        await out.write(ev("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}))
        await out.write(ev("ping", {}))
        for i, piece in enumerate(_pieces(text)):
            await out.write(ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}}))
            if i == 0:
                await self._stall("anthropic", out)
        await out.write(ev("content_block_stop", {"index": 0}))
        if tool:
            block = {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {}}
            await out.write(ev("content_block_start", {"index": 1, "content_block": block}))
            args = orjson.dumps(WEATHER_ARGS).decode()
            for piece in ["", *_split_args(args)]:
                delta = {"type": "input_json_delta", "partial_json": piece}
                await out.write(ev("content_block_delta", {"index": 1, "delta": delta}))
            await out.write(ev("content_block_stop", {"index": 1}))
        delta_event: dict[str, Any] = {"delta": {"stop_reason": stop_reason, "stop_sequence": None}}
        if mode != "no_usage":
            delta_event["usage"] = {"output_tokens": output_tokens}
            if reasoning:
                delta_event["usage"]["output_tokens_details"] = {"thinking_tokens": reasoning}
        await out.write(ev("message_delta", delta_event))
        await out.write(ev("message_stop", {}))
        await out.end()

    # ------------------------------------------------------------ Gemini

    async def _gemini_auth(self, headers: dict, query: dict, out: _Responder) -> bool:
        key = headers.get("x-goog-api-key") or (query.get("key") or [""])[0]
        if not key:
            message = "Method doesn't allow unregistered callers (callers without established identity)."
            await out.json(403, {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED"}})
            return False
        if key == BAD_KEY:
            # Gemini reports a wrong key as 400 INVALID_ARGUMENT with reason API_KEY_INVALID.
            err = {
                "code": 400,
                "message": GEMINI_BAD_KEY_MESSAGE,
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            }
            await out.json(400, {"error": err})
            return False
        return True

    async def gemini_generate(
        self, model: str, headers: dict, query: dict, body: dict, out: _Responder, *, stream: bool
    ) -> None:
        if not await self._gemini_auth(headers, query, out) or await self._preamble("gemini", out):
            return
        mode, kw = self.mode("gemini")
        contents = body.get("contents") or []
        said = ""
        for c in reversed(contents):
            if c.get("role", "user") == "user":
                said = _gemini_text(c.get("parts"), tool_results=False)
                if said:
                    break
        last = contents[-1] if contents else {}
        tool = bool(body.get("tools")) and last.get("role", "user") == "user"
        tool = tool and "weather" in _gemini_text(last.get("parts"), tool_results=False).lower()
        reply = reply_text("gemini", said)
        cached = int(kw.get("cached", 0))
        reasoning = int(kw.get("reasoning", 0))
        system_words = words(_gemini_text((body.get("systemInstruction") or {}).get("parts")))
        prompt = BASE_PROMPT_TOKENS + system_words + sum(words(_gemini_text(c.get("parts"))) for c in contents)
        prompt += cached
        candidates_tokens = TOOL_CALL_COMPLETION_TOKENS if tool else words(reply)
        usage: dict[str, Any] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates_tokens,
            "totalTokenCount": prompt + candidates_tokens + reasoning,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        }
        if cached:
            usage["cachedContentTokenCount"] = cached
        if reasoning:
            usage["thoughtsTokenCount"] = reasoning
        rid = _rand(22)
        envelope: dict[str, Any] = {"modelVersion": model, "responseId": rid}
        call = {"functionCall": {"name": "get_weather", "args": WEATHER_ARGS}}
        if not stream:
            parts = [call] if tool else [{"text": reply}]
            resp: dict[str, Any] = {
                "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
                **envelope,
            }
            if mode != "no_usage":
                resp["usageMetadata"] = usage
            return await out.json(200, resp)

        await out.start_stream()
        pieces: list[dict] = [call] if tool else [{"text": p} for p in _pieces(reply)]
        for i, part in enumerate(pieces):
            candidate: dict[str, Any] = {"content": {"parts": [part], "role": "model"}, "index": 0}
            event: dict[str, Any] = {"candidates": [candidate]}
            last_piece = i == len(pieces) - 1
            if last_piece:
                candidate["finishReason"] = "STOP"
            if mode != "no_usage":
                event["usageMetadata"] = (
                    usage if last_piece else {"promptTokenCount": prompt, "totalTokenCount": prompt}
                )
            event.update(envelope)
            # Gemini separates SSE events with CRLF pairs.
            await out.write(_sse(event, sep=b"\r\n\r\n"))
            if i == 0:
                await self._stall("gemini", out)
        await out.end()

    async def gemini_embed(self, headers: dict, query: dict, body: dict, out: _Responder) -> None:
        if not await self._gemini_auth(headers, query, out) or await self._preamble("gemini", out):
            return
        embeddings = []
        for req in body.get("requests") or []:
            text = _gemini_text((req.get("content") or {}).get("parts"))
            embeddings.append({"values": fake_vector(text)})
        await out.json(200, {"embeddings": embeddings})


def scope_is(path: str, expected: str) -> bool:
    """Exact path match, tolerant of a trailing slash."""
    return path.rstrip("/") == expected


def error_body(prefix: str, status: int, message: str) -> dict:
    """The provider's own error JSON shape for a status."""
    if prefix in ("openai", "azure"):
        kind, code, param = {
            400: ("invalid_request_error", "invalid_value", "temperature"),
            401: ("invalid_request_error", "invalid_api_key", None),
            429: ("requests", "rate_limit_exceeded", None),
        }.get(status, ("server_error", None, None))
        return {"error": {"message": message, "type": kind, "param": param, "code": code}}
    if prefix == "anthropic":
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            413: "request_too_large",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error")
        return {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_011" + _rand(21),
        }
    status_name = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        503: "UNAVAILABLE",
    }.get(status, "INTERNAL")
    return {"error": {"code": status, "message": message, "status": status_name}}


class FakeProviders:
    """Runs FakeProviderApp with uvicorn on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = FakeProviderApp()
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[tuple[str, dict[str, str], Any]]:
        """Every request seen, as (path with query string, lower-cased headers, JSON body)."""
        return self.app.requests

    def base_url(self, prefix: str) -> str:
        """The base_url a Deployment should use for one fake provider."""
        return {
            "openai": f"{self.url}/openai/v1",
            "azure": f"{self.url}/azure",
            "anthropic": f"{self.url}/anthropic",
            "gemini": f"{self.url}/gemini",
        }[prefix]

    def deployment(self, prefix: str, model: str, **kw: Any) -> Deployment:
        """A Deployment pointing at one fake provider, with a key it accepts."""
        wire = {"openai": "openai", "azure": "azure", "anthropic": "anthropic", "gemini": "gemini"}[prefix]
        provider = {"gemini": "google"}.get(prefix, prefix)
        defaults: dict[str, Any] = {"api_key": f"test-{prefix}-key"}
        if prefix == "azure":
            defaults["api_version"] = "2024-10-21"
        defaults.update(kw)
        return Deployment(provider=provider, wire=wire, model=model, base_url=self.base_url(prefix), **defaults)

    def set_mode(self, prefix: str, mode: str, **kw: Any) -> None:
        """Switch one provider's behaviour; kw: delay, chunk_delay, cached, cache_write, reasoning."""
        if prefix not in PREFIXES:
            raise ValueError(f"unknown provider prefix {prefix!r}")
        if mode not in MODES and not re.fullmatch(r"error_\d{3}", mode):
            raise ValueError(f"unknown mode {mode!r}")
        self.app.modes[prefix] = (mode, kw)

    def reset(self) -> None:
        """Every provider back to "ok"; the request log and disconnect counts cleared."""
        self.app.modes.clear()
        self.app.requests.clear()
        self.app.disconnects.clear()

    def disconnected(self, prefix: str, *, wait: float = 2.0) -> int:
        """How many responses the client abandoned mid-way; waits up to `wait` seconds for the first."""
        deadline = time.monotonic() + wait
        while not self.app.disconnects.get(prefix) and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.app.disconnects.get(prefix, 0)

    def last_request(self, path_contains: str = "") -> tuple[str, dict[str, str], Any]:
        """The most recent request whose path contains the given text."""
        for req in reversed(self.app.requests):
            if path_contains in req[0]:
                return req
        raise LookupError(f"no request matching {path_contains!r}")

    def start(self) -> FakeProviders:
        """Bind, start serving and wait until the server accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-providers"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake provider server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Shut the server down without waiting for stalled streams."""
        if self._server is None:
            return
        self._server.should_exit = True
        self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
