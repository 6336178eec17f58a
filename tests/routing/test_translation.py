"""Pure translation tests: request/response/stream conversions, usage semantics and error parsing."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import httpx2
import pytest
from anthropic.lib.streaming._messages import accumulate_event

from routing.providers import get_adapter
from routing.providers.anthropic import (
    AnthropicEventsToOpenAIChunks,
    OpenAIChunksToAnthropicEvents,
    anthropic_to_openai_request,
    anthropic_to_openai_response,
    openai_to_anthropic_request,
    openai_to_anthropic_response,
)
from routing.providers.base import (
    ChatStream,
    ProviderError,
    SSEEvent,
    Usage,
    error_for_status,
    error_from_exception,
    iter_sse,
    parse_error_body,
    raise_for_upstream,
    redact,
    sse_event,
    usage_from_anthropic,
    usage_from_gemini,
    usage_from_openai,
    usage_to_anthropic,
    usage_to_openai,
)
from routing.providers.base import Deployment as Dep
from routing.providers.gemini import (
    GeminiChunksToOpenAI,
    clean_schema,
    gemini_to_openai_response,
    openai_to_gemini_request,
)

CREATED = 1_700_000_000

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Current weather", "parameters": WEATHER_SCHEMA},
    },
    {"type": "function", "function": {"name": "get_time"}},
]


def run(coro: Any) -> Any:
    """Run a coroutine to completion on a fresh loop."""
    return asyncio.run(coro)


# ---------------------------------------------------------------- OpenAI -> Anthropic requests


def test_openai_to_anthropic_request_full() -> None:
    body = {
        "model": "claude-sonnet-4",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {
                "role": "developer",
                "content": [{"type": "text", "text": "Big context", "cache_control": {"type": "ephemeral"}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these images?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": "Let me look that up.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "12:00"}]},
            {"role": "user", "content": "Thanks!"},
        ],
        "tools": OPENAI_TOOLS,
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "max_completion_tokens": 256,
        "temperature": 1.5,
        "top_p": 0.9,
        "stop": "END",
        "user": "user-42",
        "stream": True,
    }
    original = copy.deepcopy(body)
    assert openai_to_anthropic_request(body) == {
        "model": "claude-sonnet-4",
        "max_tokens": 256,
        "system": [
            {"type": "text", "text": "You are terse."},
            {"type": "text", "text": "Big context", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these images?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look that up."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18C and sunny"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_2",
                        "content": [{"type": "text", "text": "12:00"}],
                    },
                ],
            },
            {"role": "user", "content": "Thanks!"},
        ],
        "tools": [
            {"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA},
            {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "temperature": 1.0,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "user-42"},
    }
    assert body == original, "translation must not mutate the caller's body"


def test_openai_to_anthropic_request_defaults_and_json_instruction() -> None:
    body = {
        "messages": [{"role": "user", "content": "Give me JSON"}],
        "stop": ["a", "b"],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "answer",
                "schema": {"type": "object", "properties": {"x": {"type": "integer"}}},
            },
        },
    }
    assert openai_to_anthropic_request(body) == {
        "messages": [{"role": "user", "content": "Give me JSON"}],
        "max_tokens": 4096,
        "stop_sequences": ["a", "b"],
        "system": [
            {
                "type": "text",
                "text": "Respond only with a single JSON value that matches this JSON Schema, "
                'with no other text: {"type":"object","properties":{"x":{"type":"integer"}}}',
            }
        ],
    }


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        ({"type": "function", "function": {"name": "get_time"}}, None, {"type": "tool", "name": "get_time"}),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
        (None, None, None),
    ],
)
def test_openai_tool_choice_to_anthropic(choice: Any, parallel: Any, expected: dict | None) -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}], "tools": OPENAI_TOOLS}
    if choice is not None:
        body["tool_choice"] = choice
    if parallel is not None:
        body["parallel_tool_calls"] = parallel
    assert openai_to_anthropic_request(body).get("tool_choice") == expected


def test_openai_to_anthropic_rejects_n_and_unknown_parts() -> None:
    with pytest.raises(ProviderError) as err:
        openai_to_anthropic_request({"messages": [{"role": "user", "content": "hi"}], "n": 2})
    assert (err.value.status, err.value.type, err.value.message) == (
        400,
        "invalid_request_error",
        "n>1 is not supported by Anthropic models",
    )
    audio = {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}
    with pytest.raises(ProviderError) as err:
        openai_to_anthropic_request({"messages": [{"role": "user", "content": [audio]}]})
    assert err.value.status == 400


def test_openai_anthropic_openai_request_round_trip() -> None:
    original = {
        "model": "claude-haiku",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather where this photo was taken?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "assistant", "content": "It is 18C."},
            {"role": "user", "content": "Thanks!"},
        ],
        "tools": OPENAI_TOOLS[:1],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "max_tokens": 300,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["END"],
        "user": "u-1",
    }
    assert anthropic_to_openai_request(openai_to_anthropic_request(original)) == original


# ---------------------------------------------------------------- Anthropic -> OpenAI requests


def test_anthropic_to_openai_request_full() -> None:
    body = {
        "model": "gpt-4o",
        "system": [
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Answer in French."},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": [{"type": "text", "text": "noon"}],
                    },
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
        "tools": [
            {"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA},
            {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "max_tokens": 512,
        "stop_sequences": ["STOP"],
        "temperature": 0.3,
        "top_p": 0.7,
        "top_k": 40,
        "metadata": {"user_id": "user-9"},
        "stream": True,
    }
    assert anthropic_to_openai_request(body) == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse.\nAnswer in French."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "toolu_2",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "noon"},
            {"role": "user", "content": "And tomorrow?"},
        ],
        "max_tokens": 512,
        "temperature": 0.3,
        "top_p": 0.7,
        "stop": ["STOP"],
        "user": "user-9",
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": WEATHER_SCHEMA,
                },
            },
            {
                "type": "function",
                "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
            },
        ],
        "tool_choice": "required",
        "parallel_tool_calls": False,
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_anthropic_tool_choice_to_openai(choice: dict, expected: Any) -> None:
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 10,
        "tools": [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}],
        "tool_choice": choice,
    }
    out = anthropic_to_openai_request(body)
    assert out["tool_choice"] == expected
    assert "parallel_tool_calls" not in out


def test_anthropic_server_tools_are_rejected_for_other_models() -> None:
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 10,
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
    }
    with pytest.raises(ProviderError) as err:
        anthropic_to_openai_request(body)
    assert err.value.status == 400


# ---------------------------------------------------------------- responses


def test_anthropic_to_openai_response_with_tool_use() -> None:
    resp = {
        "id": "msg_01XYZ",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [
            {"type": "thinking", "thinking": "The user wants weather.", "signature": "abc"},
            {"type": "text", "text": "Let me check "},
            {"type": "text", "text": "the weather."},
            {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 50,
            "cache_creation_input_tokens": 200,
            "cache_read_input_tokens": 1000,
            "output_tokens": 30,
        },
    }
    assert anthropic_to_openai_response(resp, "claude-sonnet-4", created=CREATED) == {
        "id": "msg_01XYZ",
        "object": "chat.completion",
        "created": CREATED,
        "model": "claude-sonnet-4",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me check the weather.",
                    "tool_calls": [
                        {
                            "id": "toolu_01A",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                    "reasoning_content": "The user wants weather.",
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 1250,
            "completion_tokens": 30,
            "total_tokens": 1280,
            "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 200},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
    ],
)
def test_anthropic_stop_reason_mapping(stop_reason: str, finish: str) -> None:
    resp = {
        "id": "msg_1",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": stop_reason,
        "usage": {},
    }
    assert anthropic_to_openai_response(resp, "m")["choices"][0]["finish_reason"] == finish


def test_openai_to_anthropic_response() -> None:
    resp = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": CREATED,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {
                            "id": "call_9",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 15,
            "total_tokens": 135,
            "prompt_tokens_details": {"cached_tokens": 100},
        },
    }
    assert openai_to_anthropic_response(resp, "gpt-4o") == {
        "id": "msg_abc123",
        "type": "message",
        "role": "assistant",
        "model": "gpt-4o",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_9", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 15,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 0,
        },
    }


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_openai_finish_reason_to_anthropic(finish: str, stop_reason: str) -> None:
    resp = {"id": "x", "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": finish}]}
    assert openai_to_anthropic_response(resp, "m")["stop_reason"] == stop_reason


# ---------------------------------------------------------------- streams


def _chunk(cid: str, model: str, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


ANTHROPIC_EVENTS: list[tuple[str, dict]] = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 25,
                    "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 0,
                    "output_tokens": 1,
                },
            },
        },
    ),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    ("ping", {"type": "ping"}),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    ),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " world"}},
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": '},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 42},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]


def test_anthropic_events_to_openai_chunks() -> None:
    conv = AnthropicEventsToOpenAIChunks("claude-x", created=CREATED)
    chunks = [c for name, data in ANTHROPIC_EVENTS for c in conv.feed(name, data)]
    chunks.append(conv.usage_chunk())
    assert conv.done
    assert chunks == [
        _chunk("msg_1", "claude-x", {"role": "assistant", "content": ""}),
        _chunk("msg_1", "claude-x", {"content": "Hello"}),
        _chunk("msg_1", "claude-x", {"content": " world"}),
        _chunk(
            "msg_1",
            "claude-x",
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
        ),
        _chunk("msg_1", "claude-x", {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        _chunk("msg_1", "claude-x", {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        _chunk("msg_1", "claude-x", {}, "tool_calls"),
        {
            "id": "msg_1",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": "claude-x",
            "choices": [],
            "usage": {
                "prompt_tokens": 125,
                "completion_tokens": 42,
                "total_tokens": 167,
                "prompt_tokens_details": {"cached_tokens": 100},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        },
    ]
    assert conv.usage == Usage(
        input_tokens=25, output_tokens=42, cache_read_tokens=100, cache_write_tokens=0, reported=True
    )


def test_anthropic_stream_error_event_raises() -> None:
    conv = AnthropicEventsToOpenAIChunks("m", created=CREATED)
    conv.feed(*ANTHROPIC_EVENTS[0])
    with pytest.raises(ProviderError) as err:
        conv.feed("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert (err.value.status, err.value.type, err.value.message, err.value.code, err.value.retryable) == (
        502,
        "provider_error",
        "Overloaded",
        "overloaded_error",
        True,
    )


def test_anthropic_thinking_stream_becomes_reasoning_content() -> None:
    conv = AnthropicEventsToOpenAIChunks("m", created=CREATED)
    conv.feed(*ANTHROPIC_EVENTS[0])
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "Hmm"},
    }
    sig = {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "x"}}
    assert conv.feed("content_block_start", start) == []
    assert conv.feed("content_block_delta", delta) == [_chunk("msg_1", "m", {"reasoning_content": "Hmm"})]
    assert conv.feed("content_block_delta", sig) == []


OPENAI_CHUNKS: list[dict] = [
    {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
    },
    {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]},
    {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": None}]},
    {
        "id": "chatcmpl-1",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        }
                    ]
                },
                "finish_reason": None,
            }
        ],
    },
    {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}}],
    },
    {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}}],
    },
    {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    {
        "id": "chatcmpl-1",
        "choices": [],
        "usage": {
            "prompt_tokens": 30,
            "completion_tokens": 12,
            "total_tokens": 42,
            "prompt_tokens_details": {"cached_tokens": 10},
        },
    },
]


def _anthropic_events_from_openai() -> list[tuple[str, dict]]:
    conv = OpenAIChunksToAnthropicEvents("gpt-4o", message_id="msg_abc")
    events = [e for c in OPENAI_CHUNKS for e in conv.feed(c)]
    return events + conv.finish()


def test_openai_chunks_to_anthropic_events_exact_sequence() -> None:
    def delta(index: int, d: dict) -> tuple[str, dict]:
        return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})

    assert _anthropic_events_from_openai() == [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_abc",
                    "type": "message",
                    "role": "assistant",
                    "model": "gpt-4o",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 0,
                        "output_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "cache_creation_input_tokens": 0,
                    },
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        delta(0, {"type": "text_delta", "text": "Hel"}),
        delta(0, {"type": "text_delta", "text": "lo"}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}},
            },
        ),
        delta(1, {"type": "input_json_delta", "partial_json": '{"city":'}),
        delta(1, {"type": "input_json_delta", "partial_json": '"Paris"}'}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {
                    "input_tokens": 20,
                    "output_tokens": 12,
                    "cache_read_input_tokens": 10,
                    "cache_creation_input_tokens": 0,
                },
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def test_openai_chunks_to_anthropic_events_accumulate_in_sdk() -> None:
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for _, data in _anthropic_events_from_openai():
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs=json_bufs)  # type: ignore[arg-type]
    assert snapshot is not None
    dumped = snapshot.to_dict()
    assert dumped["content"] == [
        {"type": "text", "text": "Hello"},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
    ]
    assert dumped["stop_reason"] == "tool_use"
    usage = dumped["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["cache_read_input_tokens"]) == (20, 12, 10)


def test_openai_chunks_to_anthropic_events_through_sdk_messages_stream() -> None:
    body = b"".join(sse_event(name, data) for name, data in _anthropic_events_from_openai())

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    async def go() -> Any:
        transport = httpx2.MockTransport(handler)
        client = anthropic.AsyncAnthropic(
            api_key="k", base_url="http://gateway.test", http_client=httpx2.AsyncClient(transport=transport)
        )
        texts = []
        async with client.messages.stream(
            model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
        ) as stream:
            async for event in stream:
                if event.type == "text":
                    texts.append(event.text)
            final = await stream.get_final_message()
        return texts, final

    texts, final = run(go())
    assert texts == ["Hel", "lo"]
    assert final.id == "msg_abc"
    assert final.content[1].input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.cache_read_input_tokens) == (
        20,
        12,
        10,
    )


def test_openai_chunks_to_anthropic_empty_stream_still_well_formed() -> None:
    conv = OpenAIChunksToAnthropicEvents("m", message_id="msg_x")
    names = [name for name, _ in conv.finish()]
    assert names == ["message_start", "message_delta", "message_stop"]
    assert conv.finish() == []


def test_gemini_chunks_to_openai() -> None:
    responses = [
        {
            "candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
            "responseId": "r1",
        },
        {
            "candidates": [{"content": {"parts": [{"text": "lo"}], "role": "model"}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
            "responseId": "r1",
        },
        {
            "candidates": [
                {
                    "content": {
                        "parts": [{"functionCall": {"name": "f", "args": {"x": 1}}}],
                        "role": "model",
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 12,
                "candidatesTokenCount": 6,
                "thoughtsTokenCount": 2,
                "totalTokenCount": 20,
            },
            "responseId": "r1",
        },
    ]
    conv = GeminiChunksToOpenAI("gemini-2.5-flash", created=CREATED)
    chunks = [c for r in responses for c in conv.feed(r)]
    call_id = chunks[3]["choices"][0]["delta"]["tool_calls"][0]["id"]
    assert call_id.startswith("call_")
    assert chunks == [
        _chunk("chatcmpl-r1", "gemini-2.5-flash", {"role": "assistant", "content": ""}),
        _chunk("chatcmpl-r1", "gemini-2.5-flash", {"content": "Hel"}),
        _chunk("chatcmpl-r1", "gemini-2.5-flash", {"content": "lo"}),
        _chunk(
            "chatcmpl-r1",
            "gemini-2.5-flash",
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"x":1}'},
                    }
                ]
            },
        ),
        _chunk("chatcmpl-r1", "gemini-2.5-flash", {}, "tool_calls"),
    ]
    assert conv.finish() == []
    assert conv.usage == Usage(input_tokens=12, output_tokens=8, reasoning_tokens=2, reported=True)
    assert conv.usage_chunk()["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 8,
        "total_tokens": 20,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }


def test_gemini_stream_error_payload_raises() -> None:
    conv = GeminiChunksToOpenAI("m", created=CREATED)
    with pytest.raises(ProviderError) as err:
        conv.feed({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})
    assert (err.value.status, err.value.message, err.value.code) == (
        502,
        "The model is overloaded.",
        "UNAVAILABLE",
    )


# ---------------------------------------------------------------- Gemini requests and responses


def test_openai_to_gemini_request_full() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    body = {
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_a", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_b", "content": "noon"},
            {"role": "assistant", "content": "It is 18C at noon."},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": {
                        "$schema": "http://json-schema.org/draft-07/schema#",
                        "additionalProperties": False,
                        **WEATHER_SCHEMA,
                    },
                },
            },
            {
                "type": "function",
                "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
            },
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "temperature": 0.2,
        "top_p": 0.8,
        "max_tokens": 100,
        "stop": ["END"],
        "n": 2,
        "seed": 7,
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    }
    assert openai_to_gemini_request(body) == {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Describe"},
                    {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
                    {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}},
                ],
            },
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                    {"functionCall": {"name": "get_time", "args": {}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"content": "18C"}}},
                    {"functionResponse": {"name": "get_time", "response": {"content": "noon"}}},
                ],
            },
            {"role": "model", "parts": [{"text": "It is 18C at noon."}]},
            {"role": "user", "parts": [{"text": "Thanks"}]},
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "get_weather", "description": "Current weather", "parameters": WEATHER_SCHEMA},
                    {"name": "get_time"},
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        "generationConfig": {
            "temperature": 0.2,
            "topP": 0.8,
            "maxOutputTokens": 100,
            "stopSequences": ["END"],
            "candidateCount": 2,
            "seed": 7,
            "responseMimeType": "application/json",
            "responseJsonSchema": schema,
        },
    }


@pytest.mark.parametrize(("choice", "mode"), [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")])
def test_openai_tool_choice_to_gemini(choice: str, mode: str) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "tools": OPENAI_TOOLS, "tool_choice": choice}
    assert openai_to_gemini_request(body)["toolConfig"] == {"functionCallingConfig": {"mode": mode}}


def test_gemini_json_object_and_minimal_request() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}
    assert openai_to_gemini_request(body) == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"responseMimeType": "application/json"},
    }
    assert openai_to_gemini_request({"messages": [{"role": "user", "content": "hi"}]}) == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}]
    }


def test_clean_schema_for_gemini() -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "$schema": "x",
        "properties": {
            "mode": {"const": "fast"},
            "note": {"type": ["string", "null"], "description": "optional"},
            "tags": {"type": "array", "items": {"type": "string", "additionalProperties": False}},
        },
        "required": ["mode"],
    }
    assert clean_schema(schema) == {
        "type": "object",
        "properties": {
            "mode": {"enum": ["fast"]},
            "note": {"type": "string", "nullable": True, "description": "optional"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["mode"],
    }


def test_gemini_to_openai_response_candidates_and_tools() -> None:
    resp = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "thinking...", "thought": True},
                        {"text": "Hello"},
                        {"text": " there"},
                    ],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
            },
            {
                "content": {
                    "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 1,
            },
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "cachedContentTokenCount": 40,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 5,
            "totalTokenCount": 125,
        },
        "modelVersion": "gemini-2.5-flash-001",
        "responseId": "abc123",
    }
    out = gemini_to_openai_response(resp, "gemini-2.5-flash", created=CREATED)
    call_id = out["choices"][1]["message"]["tool_calls"][0]["id"]
    assert call_id.startswith("call_") and len(call_id) > 10
    assert out == {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": CREATED,
        "model": "gemini-2.5-flash",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello there",
                    "reasoning_content": "thinking...",
                },
                "logprobs": None,
                "finish_reason": "stop",
            },
            {
                "index": 1,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            },
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 25,
            "total_tokens": 125,
            "prompt_tokens_details": {"cached_tokens": 40},
            "completion_tokens_details": {"reasoning_tokens": 5},
        },
    }


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("OTHER", "stop"),
    ],
)
def test_gemini_finish_reasons(reason: str, finish: str) -> None:
    resp = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]}
    assert gemini_to_openai_response(resp, "m")["choices"][0]["finish_reason"] == finish


def test_gemini_blocked_prompt() -> None:
    resp = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
    }
    out = gemini_to_openai_response(resp, "m", created=CREATED)
    assert out["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": None},
            "logprobs": None,
            "finish_reason": "content_filter",
        }
    ]
    assert out["usage"]["prompt_tokens"] == 7


# ---------------------------------------------------------------- usage semantics


def test_usage_from_openai_subtracts_cached_tokens() -> None:
    u = {
        "prompt_tokens": 1000,
        "completion_tokens": 300,
        "total_tokens": 1300,
        "prompt_tokens_details": {"cached_tokens": 800, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 200},
    }
    assert usage_from_openai(u) == Usage(
        input_tokens=200, output_tokens=300, cache_read_tokens=800, reasoning_tokens=200, reported=True
    )


def test_usage_from_openai_deepseek_cache_hits() -> None:
    u = {
        "prompt_tokens": 100,
        "completion_tokens": 10,
        "total_tokens": 110,
        "prompt_cache_hit_tokens": 60,
        "prompt_cache_miss_tokens": 40,
    }
    assert usage_from_openai(u) == Usage(input_tokens=40, output_tokens=10, cache_read_tokens=60, reported=True)


def test_usage_from_openai_missing() -> None:
    assert usage_from_openai(None) == Usage()
    assert usage_from_openai({}) == Usage()
    assert usage_from_openai({"prompt_tokens": 5, "completion_tokens": None, "prompt_tokens_details": None}) == Usage(
        input_tokens=5, reported=True
    )


def test_usage_from_anthropic_excludes_cache() -> None:
    u = {
        "input_tokens": 50,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200,
        "output_tokens": 30,
        "output_tokens_details": {"thinking_tokens": 12},
    }
    usage = usage_from_anthropic(u)
    assert usage == Usage(
        input_tokens=50,
        output_tokens=30,
        cache_read_tokens=1000,
        cache_write_tokens=200,
        reasoning_tokens=12,
        reported=True,
    )
    assert usage_to_openai(usage) == {
        "prompt_tokens": 1250,
        "completion_tokens": 30,
        "total_tokens": 1280,
        "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 200},
        "completion_tokens_details": {"reasoning_tokens": 12},
    }
    assert usage_to_anthropic(usage) == {
        "input_tokens": 50,
        "output_tokens": 30,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200,
    }
    assert usage_from_anthropic({"input_tokens": 3, "output_tokens": 1, "cache_read_input_tokens": None}) == Usage(
        input_tokens=3, output_tokens=1, reported=True
    )


def test_usage_from_gemini_cached_and_thoughts() -> None:
    m = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 600,
        "candidatesTokenCount": 50,
        "thoughtsTokenCount": 150,
        "totalTokenCount": 1200,
    }
    assert usage_from_gemini(m) == Usage(
        input_tokens=400, output_tokens=200, cache_read_tokens=600, reasoning_tokens=150, reported=True
    )
    assert usage_from_gemini({"promptTokenCount": 10, "toolUsePromptTokenCount": 5, "totalTokenCount": 15}) == Usage(
        input_tokens=15, reported=True
    )
    assert usage_from_gemini(None) == Usage()


@pytest.mark.parametrize(
    "usage",
    [
        Usage(input_tokens=7, output_tokens=3, reported=True),
        Usage(
            input_tokens=7,
            output_tokens=9,
            cache_read_tokens=100,
            cache_write_tokens=20,
            reasoning_tokens=4,
            reported=True,
        ),
    ],
)
def test_usage_round_trips_through_openai_shape(usage: Usage) -> None:
    assert usage_from_openai(usage_to_openai(usage)) == usage


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b'{"error":{"message":"Invalid value for temperature","type":"invalid_request_error",'
            b'"param":"temperature","code":"invalid_value"}}',
            ("Invalid value for temperature", "invalid_value"),
        ),
        (
            b'{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}',
            ("The server had an error", "server_error"),
        ),
        (
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}',
            ("Overloaded", "overloaded_error"),
        ),
        (
            b'{"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT"}}',
            ("Invalid JSON payload received.", "INVALID_ARGUMENT"),
        ),
        (
            b'[{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}]',
            ("Resource has been exhausted", "RESOURCE_EXHAUSTED"),
        ),
        (b'{"error":{"code":"404","message":"Resource not found"}}', ("Resource not found", "404")),
        (b"<html>Bad Gateway</html>", ("<html>Bad Gateway</html>", None)),
        (
            b'{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT",'
            b'"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}',
            ("API key not valid.", "API_KEY_INVALID"),
        ),
    ],
)
def test_parse_error_body(raw: bytes, expected: tuple[str, str | None]) -> None:
    assert parse_error_body(raw) == expected


@pytest.mark.parametrize(
    ("upstream", "status", "kind", "retryable"),
    [
        (400, 400, "invalid_request_error", False),
        (404, 404, "invalid_request_error", False),
        (413, 413, "invalid_request_error", False),
        (422, 422, "invalid_request_error", False),
        (401, 502, "provider_auth_error", True),
        (403, 502, "provider_auth_error", True),
        (429, 429, "rate_limit_error", True),
        (500, 502, "provider_error", True),
        (503, 502, "provider_error", True),
        (529, 502, "provider_error", True),
        (408, 504, "timeout", True),
    ],
)
def test_error_for_status(upstream: int, status: int, kind: str, retryable: bool) -> None:
    err = error_for_status(upstream, "the provider's words", "c")
    assert (err.status, err.type, err.retryable, err.message, err.code, err.upstream_status) == (
        status,
        kind,
        retryable,
        "the provider's words",
        "c",
        upstream,
    )


def test_gemini_invalid_key_maps_to_auth_error() -> None:
    err = error_for_status(400, "API key not valid.", "API_KEY_INVALID")
    assert (err.status, err.type, err.retryable) == (502, "provider_auth_error", True)


class _Resp:
    """The two members of aiohttp.ClientResponse that raise_for_upstream reads."""

    def __init__(self, status: int, content: bytes) -> None:
        self.status = status
        self._content = content

    async def read(self) -> bytes:
        return self._content


def test_raise_for_upstream_keeps_message_and_redacts_keys() -> None:
    body = (
        b'{"error":{"message":"Incorrect API key provided: sk-proj-abc****wxyz. You can find your API key at '
        b'https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}'
    )
    resp = _Resp(401, body)
    with pytest.raises(ProviderError) as err:
        run(raise_for_upstream(resp))
    assert err.value.message == (
        "Incorrect API key provided: [redacted]. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )
    assert (err.value.status, err.value.type, err.value.code) == (
        502,
        "provider_auth_error",
        "invalid_api_key",
    )
    assert run(raise_for_upstream(_Resp(200, b"{}"))) is None


def test_redact_removes_exact_secret_and_key_shapes() -> None:
    assert redact("key my-secret-value rejected", "my-secret-value") == "key [redacted] rejected"
    assert redact("bad AIzaSyA1234567890abcdef key") == "bad [redacted] key"
    assert redact("header Bearer abc.def was sent") == "header [redacted] was sent"


def test_transport_errors_map_to_gateway_statuses() -> None:
    dep = Dep(provider="openai", wire="openai", model="m", base_url="http://x", api_key="sk-secret", timeout=3)
    timeout = error_from_exception(aiohttp.SocketTimeoutError("read timed out"), dep)
    assert (timeout.status, timeout.type, timeout.retryable, timeout.message) == (
        504,
        "timeout",
        True,
        "openai did not respond within 3s",
    )
    assert error_from_exception(TimeoutError(), dep).status == 504
    refused = error_from_exception(
        aiohttp.ClientConnectorError(None, OSError(111, "refused")),
        dep,  # type: ignore[arg-type]
    )
    assert (refused.status, refused.type, refused.retryable) == (502, "provider_unavailable", True)
    assert "sk-secret" not in repr(dep)


def test_provider_error_bodies() -> None:
    err = ProviderError(429, "slow down", type="rate_limit_error", code="rate_limit_exceeded", retryable=True)
    assert err.to_openai() == {
        "error": {
            "message": "slow down",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert err.to_anthropic() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }


# ---------------------------------------------------------------- SSE and streams


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def _collect_sse(*lines: str) -> list[SSEEvent]:
    return [ev async for ev in iter_sse(_lines(*lines))]


def test_sse_parser() -> None:
    events = run(
        _collect_sse(
            ": keep-alive comment",
            "event: message_start",
            'data: {"a":1}',
            "",
            "data: first",
            "data:second",
            "id: 7",
            "",
            "",
            "data: [DONE]",
        )
    )
    assert events == [
        SSEEvent("message_start", '{"a":1}'),
        SSEEvent(None, "first\nsecond"),
        SSEEvent(None, "[DONE]"),
    ]
    assert events[0].json() == {"a": 1}


def test_chat_stream_estimates_usage_on_early_close() -> None:
    async def run_stream(stream: ChatStream) -> AsyncIterator[dict]:
        for word in ["a ", "b ", "c "]:
            yield _chunk("x", "m", {"content": word})
        yield _chunk("x", "m", {}, "stop")
        stream.finalize()
        yield {"choices": [], "usage": {}}

    async def go() -> ChatStream:
        stream = await ChatStream(run_stream, model="m", prompt_estimate=11)
        await stream.__anext__()
        await stream.__anext__()
        await stream.aclose()
        return stream

    stream = run(go())
    assert stream.usage == Usage(input_tokens=11, output_tokens=2, reported=False)
    assert stream.closed and not stream.completed


def test_chat_stream_failure_before_first_chunk_bills_nothing() -> None:
    async def failing(stream: ChatStream) -> AsyncIterator[dict]:
        raise ProviderError(502, "down", retryable=True)
        yield {}  # pragma: no cover

    async def go() -> ChatStream:
        stream = ChatStream(failing, prompt_estimate=50)
        with pytest.raises(ProviderError):
            await stream.__anext__()
        return stream

    assert run(go()).usage == Usage()


def test_get_adapter() -> None:
    assert {w: type(get_adapter(w)).__name__ for w in ("openai", "anthropic", "gemini", "azure", "demo")} == {
        "openai": "OpenAIAdapter",
        "anthropic": "AnthropicAdapter",
        "gemini": "GeminiAdapter",
        "azure": "AzureAdapter",
        "demo": "DemoAdapter",
    }
    with pytest.raises(KeyError):
        get_adapter("carrier-pigeon")
