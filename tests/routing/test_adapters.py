"""Adapters against the fake provider servers, over real HTTP with the gateway's aiohttp client."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import anthropic
import openai
import pytest

from routing.providers import Deployment, ProviderError, Usage, get_adapter
from routing.providers.anthropic import AnthropicAdapter
from routing.providers.base import ChatStream
from routing.providers.demo import REPLY_PREFIX, demo_vector
from tests.fakes.providers import (
    ANTHROPIC_CACHE_READ,
    ANTHROPIC_CACHE_WRITE,
    AZURE_401_MESSAGE,
    BAD_KEY,
    ERROR_400_MESSAGE,
    ERROR_429_MESSAGE,
    ERROR_500_MESSAGE,
    FakeProviders,
    fake_vector,
)

T = TypeVar("T")

MODELS = {
    "openai": "gpt-4o-mini",
    "azure": "gpt4o-prod",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
}
PREFIXES = list(MODELS)

# 10 + 2 words ("Be brief.") + 2 words ("hi there") uncached prompt tokens; 7-word reply.
BODY = {
    "model": "client-facing-name",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi there"}],
}
BODY_INPUT, BODY_OUTPUT = 14, 7
BODY_ESTIMATE = 5  # ceil(len("Be brief." + "hi there") / 4)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TOOL_BODY = {
    "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
    "tools": [WEATHER_TOOL],
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_modes(fake: FakeProviders) -> Iterator[None]:
    fake.reset()
    yield
    fake.reset()


def call(fn: Callable[[aiohttp.ClientSession], Awaitable[T]]) -> T:
    """Run fn with a fresh aiohttp session on a fresh event loop."""

    async def go() -> T:
        async with aiohttp.ClientSession() as client:
            return await fn(client)

    return asyncio.run(go())


async def collect(stream: ChatStream) -> list[Any]:
    """Drain a ChatStream."""
    return [chunk async for chunk in stream]


def text_of(chunks: list[dict]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def finish_reasons(chunks: list[dict]) -> list[str]:
    return [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]


def reassemble_tool_calls(chunks: list[dict]) -> dict[int, dict]:
    calls: dict[int, dict] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for tc in choice["delta"].get("tool_calls") or []:
                slot = calls.setdefault(tc["index"], {"id": None, "name": "", "arguments": "", "pieces": 0})
                slot["id"] = tc.get("id") or slot["id"]
                fn = tc.get("function") or {}
                slot["name"] = fn.get("name") or slot["name"]
                if fn.get("arguments"):
                    slot["arguments"] += fn["arguments"]
                    slot["pieces"] += 1
    return calls


def dep_for(fake: FakeProviders, prefix: str, **kw: Any) -> Deployment:
    return fake.deployment(prefix, MODELS[prefix], **kw)


# ---------------------------------------------------------------- chat


@pytest.mark.parametrize("prefix", PREFIXES)
def test_chat(fake: FakeProviders, prefix: str) -> None:
    dep = dep_for(fake, prefix)
    resp, usage = call(lambda c: get_adapter(dep.wire).chat(c, dep, BODY))
    assert resp["object"] == "chat.completion"
    assert resp["model"] == MODELS[prefix]
    assert resp["choices"][0]["message"]["role"] == "assistant"
    assert resp["choices"][0]["message"]["content"] == f"Hello from {prefix}! You said: hi there"
    assert resp["choices"][0]["finish_reason"] == "stop"
    assert usage == Usage(input_tokens=BODY_INPUT, output_tokens=BODY_OUTPUT, reported=True)
    assert (resp["usage"]["prompt_tokens"], resp["usage"]["completion_tokens"]) == (BODY_INPUT, BODY_OUTPUT)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_chat_stream(fake: FakeProviders, prefix: str) -> None:
    dep = dep_for(fake, prefix)

    async def go(client: aiohttp.ClientSession) -> tuple[list[dict], ChatStream]:
        stream = get_adapter(dep.wire).chat_stream(client, dep, BODY)
        return await collect(stream), stream

    chunks, stream = call(go)
    assert len(chunks) > BODY_OUTPUT, "one chunk per word, plus role, finish and usage chunks"
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == MODELS[prefix] for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert text_of(chunks) == f"Hello from {prefix}! You said: hi there"
    assert finish_reasons(chunks) == ["stop"]
    last = chunks[-1]
    assert last["choices"] == []
    assert (last["usage"]["prompt_tokens"], last["usage"]["completion_tokens"]) == (BODY_INPUT, BODY_OUTPUT)
    assert last["usage"]["total_tokens"] == BODY_INPUT + BODY_OUTPUT
    assert stream.usage == Usage(input_tokens=BODY_INPUT, output_tokens=BODY_OUTPUT, reported=True)
    assert stream.completed


@pytest.mark.parametrize("prefix", PREFIXES)
def test_chat_stream_can_be_awaited_first(fake: FakeProviders, prefix: str) -> None:
    dep = dep_for(fake, prefix)

    async def go(client: aiohttp.ClientSession) -> list[dict]:
        stream = await get_adapter(dep.wire).chat_stream(client, dep, BODY)
        return await collect(stream)

    assert text_of(call(go)).startswith("Hello from")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_tool_call(fake: FakeProviders, prefix: str) -> None:
    dep = dep_for(fake, prefix)
    resp, usage = call(lambda c: get_adapter(dep.wire).chat(c, dep, TOOL_BODY))
    choice = resp["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [tool_call] = choice["message"]["tool_calls"]
    assert tool_call["type"] == "function" and tool_call["id"]
    assert tool_call["function"]["name"] == "get_weather"
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Paris"}
    assert usage == Usage(input_tokens=10 + 6, output_tokens=9, reported=True)

    # The tool result goes back with its id and the model answers in text.
    follow = {
        "messages": [
            *TOOL_BODY["messages"],
            {"role": "assistant", "content": None, "tool_calls": [tool_call]},
            {"role": "tool", "tool_call_id": tool_call["id"], "content": '{"temp_c": 21}'},
        ],
        "tools": [WEATHER_TOOL],
    }
    resp, _ = call(lambda c: get_adapter(dep.wire).chat(c, dep, follow))
    assert resp["choices"][0]["message"]["content"] == f"Hello from {prefix}! You said: What is the weather in Paris?"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_tool_call_stream_reassembles(fake: FakeProviders, prefix: str) -> None:
    dep = dep_for(fake, prefix)

    async def go(client: aiohttp.ClientSession) -> list[dict]:
        return await collect(get_adapter(dep.wire).chat_stream(client, dep, TOOL_BODY))

    chunks = call(go)
    calls = reassemble_tool_calls(chunks)
    assert list(calls) == [0]
    assert calls[0]["id"] and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    if prefix != "gemini":  # Gemini sends whole function calls; the others stream the arguments.
        assert calls[0]["pieces"] >= 2
    assert finish_reasons(chunks) == ["tool_calls"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 9


# ---------------------------------------------------------------- errors

ERROR_CASES = [
    ("error_400", 400, "invalid_request_error", False),
    ("error_429", 429, "rate_limit_error", True),
    ("error_500", 502, "provider_error", True),
    ("error_401", 502, "provider_auth_error", True),
]
AUTH_MESSAGES = {
    "openai": "Incorrect API key provided: [redacted]. You can find your API key at "
    "https://platform.openai.com/account/api-keys.",
    "azure": AZURE_401_MESSAGE,
    "anthropic": "invalid x-api-key",
    "gemini": "Request had invalid authentication credentials.",
}


def _expected_message(mode: str, prefix: str) -> str:
    return {
        "error_400": ERROR_400_MESSAGE,
        "error_429": ERROR_429_MESSAGE,
        "error_500": ERROR_500_MESSAGE,
        "error_401": AUTH_MESSAGES[prefix],
    }[mode]


@pytest.mark.parametrize(("mode", "status", "kind", "retryable"), ERROR_CASES)
@pytest.mark.parametrize("prefix", PREFIXES)
def test_chat_error_modes(fake: FakeProviders, prefix: str, mode: str, status: int, kind: str, retryable: bool) -> None:
    fake.set_mode(prefix, mode)
    dep = dep_for(fake, prefix)
    with pytest.raises(ProviderError) as err:
        call(lambda c: get_adapter(dep.wire).chat(c, dep, BODY))
    e = err.value
    assert (e.status, e.type, e.retryable, e.message) == (
        status,
        kind,
        retryable,
        _expected_message(mode, prefix),
    )
    assert dep.api_key not in e.message and "sk-fake" not in e.message


@pytest.mark.parametrize(("mode", "status", "kind", "retryable"), ERROR_CASES)
@pytest.mark.parametrize("prefix", PREFIXES)
def test_stream_error_raised_before_first_chunk(
    fake: FakeProviders, prefix: str, mode: str, status: int, kind: str, retryable: bool
) -> None:
    fake.set_mode(prefix, mode)
    dep = dep_for(fake, prefix)

    async def go(client: aiohttp.ClientSession) -> tuple[ChatStream, ProviderError]:
        stream = get_adapter(dep.wire).chat_stream(client, dep, BODY)
        with pytest.raises(ProviderError) as err:
            await stream.__anext__()
        await stream.aclose()
        return stream, err.value

    stream, e = call(go)
    assert (e.status, e.type, e.retryable, e.message) == (
        status,
        kind,
        retryable,
        _expected_message(mode, prefix),
    )
    assert stream.chunks == 0
    assert stream.usage == Usage()


@pytest.mark.parametrize("prefix", PREFIXES)
def test_bad_key_is_a_provider_auth_error(fake: FakeProviders, prefix: str) -> None:
    dep = dep_for(fake, prefix, api_key=BAD_KEY)
    with pytest.raises(ProviderError) as err:
        call(lambda c: get_adapter(dep.wire).chat(c, dep, BODY))
    assert (err.value.status, err.value.type, err.value.retryable) == (502, "provider_auth_error", True)
    assert "sk-fake" not in err.value.message


@pytest.mark.parametrize("prefix", PREFIXES)
def test_timeout_is_504(fake: FakeProviders, prefix: str) -> None:
    fake.set_mode(prefix, "slow", delay=2)
    dep = dep_for(fake, prefix, timeout=0.3)
    with pytest.raises(ProviderError) as err:
        call(lambda c: get_adapter(dep.wire).chat(c, dep, BODY))
    assert (err.value.status, err.value.type, err.value.retryable) == (504, "timeout", True)

    async def go(client: aiohttp.ClientSession) -> None:
        await get_adapter(dep.wire).chat_stream(client, dep, BODY).__anext__()

    with pytest.raises(ProviderError) as err:
        call(go)
    assert (err.value.status, err.value.type) == (504, "timeout")
    assert fake.disconnected(prefix) >= 1


@pytest.mark.parametrize("prefix", PREFIXES)
def test_stalled_stream_times_out_mid_stream_with_partial_usage(fake: FakeProviders, prefix: str) -> None:
    fake.set_mode(prefix, "stall_stream", delay=5)
    dep = dep_for(fake, prefix, timeout=0.3)

    async def go(client: aiohttp.ClientSession) -> tuple[list[dict], ChatStream, ProviderError]:
        stream = get_adapter(dep.wire).chat_stream(client, dep, BODY)
        seen: list[dict] = []
        with pytest.raises(ProviderError) as err:
            async for chunk in stream:
                seen.append(chunk)
        await stream.aclose()
        return seen, stream, err.value

    seen, stream, e = call(go)
    assert (e.status, e.type) == (504, "timeout")
    assert text_of(seen) == "Hello "
    assert stream.usage.output_tokens == 1
    # Anthropic and Gemini report the prompt up front; OpenAI only at the end, so it is estimated.
    expected_input = BODY_ESTIMATE if prefix in ("openai", "azure") else BODY_INPUT
    assert stream.usage.input_tokens == expected_input
    assert fake.disconnected(prefix) >= 1


@pytest.mark.parametrize("prefix", PREFIXES)
def test_early_close_keeps_usage_so_far(fake: FakeProviders, prefix: str) -> None:
    fake.set_mode(prefix, "stall_stream", delay=5)
    dep = dep_for(fake, prefix)

    async def go(client: aiohttp.ClientSession) -> ChatStream:
        stream = get_adapter(dep.wire).chat_stream(client, dep, BODY)
        chunks = [await stream.__anext__(), await stream.__anext__()]
        assert text_of(chunks) == "Hello "
        await stream.aclose()
        return stream

    stream = call(go)
    assert stream.closed and not stream.completed
    assert stream.usage.output_tokens == 1
    assert stream.usage.reported is (prefix in ("anthropic", "gemini"))
    assert fake.disconnected(prefix) >= 1


def test_connection_refused_is_provider_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dep = Deployment(provider="openai", wire="openai", model="m", base_url=f"http://127.0.0.1:{port}/v1", api_key="k")
    with pytest.raises(ProviderError) as err:
        call(lambda c: get_adapter("openai").chat(c, dep, BODY))
    assert (err.value.status, err.value.type, err.value.retryable) == (502, "provider_unavailable", True)


# ---------------------------------------------------------------- usage details


@pytest.mark.parametrize("prefix", PREFIXES)
def test_no_usage_is_estimated(fake: FakeProviders, prefix: str) -> None:
    fake.set_mode(prefix, "no_usage")
    dep = dep_for(fake, prefix)
    resp, usage = call(lambda c: get_adapter(dep.wire).chat(c, dep, BODY))
    reply = f"Hello from {prefix}! You said: hi there"
    assert usage == Usage(input_tokens=BODY_ESTIMATE, output_tokens=-(-len(reply) // 4), reported=False)

    async def go(client: aiohttp.ClientSession) -> tuple[list[dict], ChatStream]:
        stream = get_adapter(dep.wire).chat_stream(client, dep, BODY)
        return await collect(stream), stream

    chunks, stream = call(go)
    assert text_of(chunks) == reply
    # Without reported usage, output is the number of content deltas (one per word here).
    assert stream.usage == Usage(input_tokens=BODY_ESTIMATE, output_tokens=BODY_OUTPUT, reported=False)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == BODY_OUTPUT


@pytest.mark.parametrize("prefix", ["openai", "azure", "gemini"])
def test_cached_and_reasoning_tokens(fake: FakeProviders, prefix: str) -> None:
    fake.set_mode(prefix, "ok", cached=4, reasoning=3)
    dep = dep_for(fake, prefix)
    expected = Usage(
        input_tokens=BODY_INPUT,
        output_tokens=BODY_OUTPUT + 3,
        cache_read_tokens=4,
        reasoning_tokens=3,
        reported=True,
    )
    resp, usage = call(lambda c: get_adapter(dep.wire).chat(c, dep, BODY))
    assert usage == expected
    assert resp["usage"]["prompt_tokens"] == BODY_INPUT + 4

    async def go(client: aiohttp.ClientSession) -> ChatStream:
        stream = get_adapter(dep.wire).chat_stream(client, dep, BODY)
        await collect(stream)
        return stream

    assert call(go).usage == expected


def test_anthropic_cache_control_reports_cache_tokens(fake: FakeProviders) -> None:
    dep = dep_for(fake, "anthropic")
    body = {
        "messages": [
            {
                "role": "system",
                "content": [{"type": "text", "text": "Long context", "cache_control": {"type": "ephemeral"}}],
            },
            {"role": "user", "content": "hi there"},
        ]
    }
    expected = Usage(
        input_tokens=14,
        output_tokens=7,
        cache_read_tokens=ANTHROPIC_CACHE_READ,
        cache_write_tokens=ANTHROPIC_CACHE_WRITE,
        reported=True,
    )
    resp, usage = call(lambda c: get_adapter("anthropic").chat(c, dep, body))
    assert usage == expected
    assert resp["usage"]["prompt_tokens"] == 14 + ANTHROPIC_CACHE_READ + ANTHROPIC_CACHE_WRITE
    assert resp["usage"]["prompt_tokens_details"]["cached_tokens"] == ANTHROPIC_CACHE_READ

    async def go(client: aiohttp.ClientSession) -> ChatStream:
        stream = get_adapter("anthropic").chat_stream(client, dep, body)
        await collect(stream)
        return stream

    assert call(go).usage == expected


# ---------------------------------------------------------------- what goes on the wire


def test_openai_wire_request(fake: FakeProviders) -> None:
    dep = dep_for(fake, "openai", api_key="sk-live-123")

    async def go(client: aiohttp.ClientSession) -> None:
        body = {**BODY, "stream": True, "stream_options": {"include_usage": False}, "temperature": 0.2}
        await collect(get_adapter("openai").chat_stream(client, dep, body))

    call(go)
    path, headers, sent = fake.last_request("/openai/")
    assert path == "/openai/v1/chat/completions"
    assert headers["authorization"] == "Bearer sk-live-123"
    assert sent == {
        **BODY,
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.2,
    }


def test_azure_url_and_api_key_header(fake: FakeProviders) -> None:
    dep = dep_for(fake, "azure", api_version="")
    call(lambda c: get_adapter("azure").chat(c, dep, BODY))
    path, headers, _ = fake.last_request("/azure/")
    assert path == "/azure/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    assert headers["api-key"] == "test-azure-key"
    assert "authorization" not in headers

    dep = dep_for(fake, "azure", api_version="2025-01-01-preview")
    call(lambda c: get_adapter("azure").embeddings(c, dep, {"input": "x"}))
    assert (
        fake.last_request("/azure/")[0]
        == "/azure/openai/deployments/gpt4o-prod/embeddings?api-version=2025-01-01-preview"
    )


def test_anthropic_wire_request(fake: FakeProviders) -> None:
    dep = dep_for(fake, "anthropic")
    call(lambda c: get_adapter("anthropic").chat(c, dep, BODY))
    path, headers, sent = fake.last_request("/anthropic/")
    assert path == "/anthropic/v1/messages"
    assert (headers["x-api-key"], headers["anthropic-version"]) == ("test-anthropic-key", "2023-06-01")
    assert sent == {
        "model": "claude-haiku-4-5",
        "max_tokens": 4096,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": "hi there"}],
    }


def test_gemini_wire_request(fake: FakeProviders) -> None:
    dep = dep_for(fake, "gemini")

    async def go(client: aiohttp.ClientSession) -> None:
        await collect(get_adapter("gemini").chat_stream(client, dep, BODY))

    call(go)
    path, headers, sent = fake.last_request("/gemini/")
    assert path == "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert headers["x-goog-api-key"] == "test-gemini-key"
    assert sent == {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "hi there"}]}],
    }
    call(lambda c: get_adapter("gemini").chat(c, dep, BODY))
    assert fake.last_request("/gemini/")[0] == "/gemini/v1beta/models/gemini-2.5-flash:generateContent"


# ---------------------------------------------------------------- embeddings


@pytest.mark.parametrize("prefix", ["openai", "azure"])
def test_openai_embeddings(fake: FakeProviders, prefix: str) -> None:
    dep = dep_for(fake, prefix)
    body = {"model": "x", "input": ["hello world", "second"]}
    resp, usage = call(lambda c: get_adapter(dep.wire).embeddings(c, dep, body))
    assert [d["embedding"] for d in resp["data"]] == [fake_vector("hello world"), fake_vector("second")]
    assert resp["model"] == MODELS[prefix]
    assert usage == Usage(input_tokens=3, reported=True)

    resp, _ = call(lambda c: get_adapter(dep.wire).embeddings(c, dep, {**body, "encoding_format": "base64"}))
    raw = base64.b64decode(resp["data"][0]["embedding"])
    assert list(struct.unpack("<8f", raw)) == pytest.approx(fake_vector("hello world"), abs=1e-6)


def test_gemini_embeddings(fake: FakeProviders) -> None:
    dep = fake.deployment("gemini", "gemini-embedding-001")
    body = {"model": "x", "input": ["hello world", "second"], "dimensions": 8}
    resp, usage = call(lambda c: get_adapter("gemini").embeddings(c, dep, body))
    assert resp == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": fake_vector("hello world")},
            {"object": "embedding", "index": 1, "embedding": fake_vector("second")},
        ],
        "model": "gemini-embedding-001",
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    }
    assert usage == Usage(input_tokens=5, reported=False)
    path, _, sent = fake.last_request("/gemini/")
    assert path == "/gemini/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent["requests"][0] == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "hello world"}]},
        "outputDimensionality": 8,
    }


def test_anthropic_has_no_embeddings(fake: FakeProviders) -> None:
    dep = dep_for(fake, "anthropic")
    with pytest.raises(ProviderError) as err:
        call(lambda c: get_adapter("anthropic").embeddings(c, dep, {"input": "x"}))
    assert (err.value.status, err.value.type) == (400, "invalid_request_error")


# ---------------------------------------------------------------- Anthropic native pass-through

NATIVE_BODY = {
    "model": "client-facing-name",
    "max_tokens": 100,
    "system": [{"type": "text", "text": "Long cached context", "cache_control": {"type": "ephemeral"}}],
    "messages": [{"role": "user", "content": "cached?"}],
}


def test_anthropic_native_messages(fake: FakeProviders) -> None:
    dep = dep_for(fake, "anthropic")
    adapter = AnthropicAdapter()
    resp, usage = call(
        lambda c: adapter.messages(c, dep, NATIVE_BODY, extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    )
    assert resp["type"] == "message" and resp["id"].startswith("msg_")
    assert resp["content"] == [{"type": "text", "text": "Hello from anthropic! You said: cached?"}]
    assert resp["usage"]["cache_read_input_tokens"] == ANTHROPIC_CACHE_READ
    assert usage == Usage(
        input_tokens=10 + 3 + 1,
        output_tokens=6,
        cache_read_tokens=ANTHROPIC_CACHE_READ,
        cache_write_tokens=ANTHROPIC_CACHE_WRITE,
        reported=True,
    )
    _, headers, sent = fake.last_request("/anthropic/")
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert sent == {**NATIVE_BODY, "model": "claude-haiku-4-5"}


def test_anthropic_native_messages_stream(fake: FakeProviders) -> None:
    dep = dep_for(fake, "anthropic")

    async def go(client: aiohttp.ClientSession) -> tuple[list[tuple[str, dict]], ChatStream]:
        stream = AnthropicAdapter().messages_stream(client, dep, {**NATIVE_BODY, "stream": True})
        return await collect(stream), stream

    events, stream = call(go)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 6,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "Hello from anthropic! You said: cached?"
    assert stream.usage == Usage(
        input_tokens=14,
        output_tokens=6,
        cache_read_tokens=ANTHROPIC_CACHE_READ,
        cache_write_tokens=ANTHROPIC_CACHE_WRITE,
        reported=True,
    )
    assert fake.last_request("/anthropic/")[2]["stream"] is True


def test_anthropic_native_stream_error_before_first_event(fake: FakeProviders) -> None:
    fake.set_mode("anthropic", "error_429")
    dep = dep_for(fake, "anthropic")

    async def go(client: aiohttp.ClientSession) -> None:
        await AnthropicAdapter().messages_stream(client, dep, NATIVE_BODY).__anext__()

    with pytest.raises(ProviderError) as err:
        call(go)
    assert (err.value.status, err.value.type, err.value.message) == (
        429,
        "rate_limit_error",
        ERROR_429_MESSAGE,
    )


# ---------------------------------------------------------------- the fake speaks the real formats


def test_fake_openai_is_accepted_by_the_openai_sdk(fake: FakeProviders) -> None:
    client = openai.OpenAI(base_url=fake.base_url("openai"), api_key="sk-x", max_retries=0)
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "yo"}])
    assert completion.choices[0].message.content == "Hello from openai! You said: yo"
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "yo"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 6
    embedding = client.embeddings.create(model="text-embedding-3-small", input="hello world")
    assert embedding.data[0].embedding == pytest.approx(fake_vector("hello world"), abs=1e-6)


def test_fake_anthropic_is_accepted_by_the_anthropic_sdk(fake: FakeProviders) -> None:
    client = anthropic.Anthropic(base_url=fake.base_url("anthropic"), api_key="sk-ant-x", max_retries=0)
    with client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=50,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[
            {
                "name": "get_weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[1].input == {"city": "Paris"}
    assert final.usage.output_tokens == 9


# ---------------------------------------------------------------- demo


def test_demo_chat_and_stream() -> None:
    dep = Deployment(provider="demo", wire="demo", model="echo", base_url="")
    body = {"messages": [{"role": "system", "content": "abcd"}, {"role": "user", "content": "Tell me a story"}]}
    reply = REPLY_PREFIX + "Tell me a story"
    resp, usage = call(lambda c: get_adapter("demo").chat(c, dep, body))
    assert resp["choices"][0]["message"] == {"role": "assistant", "content": reply}
    assert resp["model"] == "echo"
    assert usage == Usage(input_tokens=5, output_tokens=len(reply.split()), reported=True)  # ceil(19 / 4) == 5

    async def go(client: aiohttp.ClientSession) -> tuple[list[dict], ChatStream]:
        stream = get_adapter("demo").chat_stream(client, dep, body)
        return await collect(stream), stream

    chunks, stream = call(go)
    words = reply.split()
    assert [c["choices"][0]["delta"].get("content") for c in chunks[: len(words)]] == [
        *[w + " " for w in words[:-1]],
        words[-1],
    ]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[len(words)]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(words)
    assert len(chunks) == len(words) + 2
    assert stream.usage == usage


def test_demo_truncates_to_200_characters_and_forces_tools() -> None:
    dep = Deployment(provider="demo", wire="demo", model="echo", base_url="")
    long = "x" * 500
    resp, _ = call(lambda c: get_adapter("demo").chat(c, dep, {"messages": [{"role": "user", "content": long}]}))
    assert resp["choices"][0]["message"]["content"] == REPLY_PREFIX + "x" * 200

    body = {**TOOL_BODY, "tool_choice": "required"}
    resp, usage = call(lambda c: get_adapter("demo").chat(c, dep, body))
    [tool_call] = resp["choices"][0]["message"]["tool_calls"]
    assert tool_call["function"] == {"name": "get_weather", "arguments": "{}"}
    assert resp["choices"][0]["finish_reason"] == "tool_calls"

    async def go(client: aiohttp.ClientSession) -> list[dict]:
        forced = {**TOOL_BODY, "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}
        return await collect(get_adapter("demo").chat_stream(client, dep, forced))

    chunks = call(go)
    assert reassemble_tool_calls(chunks)[0]["name"] == "get_weather"
    assert finish_reasons(chunks) == ["tool_calls"]

    resp, _ = call(lambda c: get_adapter("demo").chat(c, dep, {**TOOL_BODY, "tool_choice": "auto"}))
    assert resp["choices"][0]["message"]["content"].startswith(REPLY_PREFIX)


def test_demo_embeddings_are_deterministic() -> None:
    dep = Deployment(provider="demo", wire="demo", model="embed", base_url="")
    body = {"input": ["hello", "hello", "other"]}
    resp, usage = call(lambda c: get_adapter("demo").embeddings(c, dep, body))
    vectors = [d["embedding"] for d in resp["data"]]
    assert vectors[0] == vectors[1] == demo_vector("hello") != vectors[2]
    assert len(vectors[0]) == 8
    assert sum(v * v for v in vectors[0]) == pytest.approx(1.0, abs=1e-4)
    assert usage == Usage(input_tokens=6, reported=True)  # ceil(5 / 4) per input
