"""The official openai SDK, unmodified but for its base URL, against every provider family."""

from __future__ import annotations

import json
from decimal import Decimal

import openai
import pytest

from billing.models import UsageRecord
from routing.gateway.catalog import catalog_load
from routing.gateway.pricing import cost_of
from routing.providers.base import Usage

# model id -> the fake provider route that serves it
FAMILIES = {
    "openai/gpt-4o-mini": "openai",
    "anthropic/claude-sonnet-4-5": "anthropic",
    "google/gemini-2.5-flash": "gemini",
    "azure/gpt-4o-mini": "azure",
    "groq/llama-3.1-8b-instant": "openai",
    "mistral/mistral-small-latest": "openai",
    "deepseek/deepseek-chat": "openai",
    "xai/grok-3": "openai",
    "together/meta-llama/Llama-3.3-70B-Instruct-Turbo": "openai",
    "fireworks/llama-v3p1-8b-instruct": "openai",
    "openrouter/openai/gpt-4o-mini": "openai",
    "demo/echo": "demo",
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def client_for(gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=gateway.key, max_retries=0, timeout=20)


def expected_cost(model_id: str, usage) -> Decimal:
    entry = catalog_load().resolve(model_id)
    details = usage.prompt_tokens_details
    cached = (details.cached_tokens or 0) if details else 0
    extra = usage.model_extra or {}
    cache_write = (getattr(details, "model_extra", None) or {}).get("cache_write_tokens", 0) if details else 0
    reasoning = usage.completion_tokens_details.reasoning_tokens if usage.completion_tokens_details else 0
    u = Usage(
        input_tokens=usage.prompt_tokens - cached - cache_write,
        output_tokens=usage.completion_tokens,
        cache_read_tokens=cached,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning or 0,
        reported=True,
    )
    assert "cost" in extra
    return cost_of(u, entry.prices)


def the_record(gateway, request_id: str) -> UsageRecord:
    gateway.drain()
    return UsageRecord.objects.get(request_id=request_id)


@pytest.mark.parametrize("model", list(FAMILIES))
def test_chat(gateway, model):
    raw = client_for(gateway).chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}],
        temperature=0.2,
    )
    completion = raw.parse()
    text = completion.choices[0].message.content
    assert "Say hi" in text
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    cost = Decimal(str(completion.usage.model_extra["cost"]))
    assert cost == expected_cost(model, completion.usage) > 0
    assert raw.headers["x-requesty-model"] == model
    assert raw.headers["x-requesty-provider"] == model.split("/")[0]
    record = the_record(gateway, raw.headers["x-request-id"])
    assert (record.org_id, record.user_id, record.api_key_id) == (gateway.org.pk, gateway.user.pk, gateway.api_key.pk)
    assert record.status == "success" and record.http_status == 200 and not record.streamed
    assert record.model_requested == model and record.model_used == model
    assert record.cost == cost
    assert record.input_tokens + record.cache_read_tokens + record.cache_write_tokens == completion.usage.prompt_tokens
    assert record.output_tokens == completion.usage.completion_tokens
    assert record.usage_reported


@pytest.mark.parametrize("model", list(FAMILIES))
def test_chat_stream_with_usage(gateway, model):
    stream = client_for(gateway).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Stream to me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Stream to me" in text
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage.completion_tokens > 0
    cost = Decimal(str(last.usage.model_extra["cost"]))
    assert cost == expected_cost(model, last.usage)
    record = the_record(gateway, stream.response.headers["x-request-id"])
    assert record.streamed and record.status == "success" and record.cost == cost
    assert record.ttft_ms is not None and record.ttft_ms <= record.latency_ms


def test_stream_without_include_usage_still_records_usage(gateway):
    stream = client_for(gateway).chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "no usage please"}], stream=True
    )
    chunks = list(stream)
    assert all(c.usage is None for c in chunks)
    # The gateway asked the provider for usage anyway.
    sent = [r for r in gateway.fakes.requests if r[0].endswith("/chat/completions")][-1]
    assert sent[2]["stream_options"] == {"include_usage": True}
    record = the_record(gateway, stream.response.headers["x-request-id"])
    assert record.output_tokens > 0 and record.cost > 0 and record.usage_reported


@pytest.mark.parametrize("model", [m for m, f in FAMILIES.items() if f != "demo"])
def test_tools(gateway, model):
    completion = client_for(gateway).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER_TOOL],
        tool_choice="auto",
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    # Send the tool result back: the translation must carry tool_call ids through.
    follow = client_for(gateway).chat.completions.create(
        model=model,
        messages=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'},
        ],
        tools=[WEATHER_TOOL],
    )
    assert follow.choices[0].message.content


@pytest.mark.parametrize("model", [m for m, f in FAMILIES.items() if f != "demo"])
def test_tools_streaming(gateway, model):
    stream = client_for(gateway).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[WEATHER_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for tc in choice.delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"name": "", "arguments": "", "id": None})
                slot["id"] = tc.id or slot["id"]
                if tc.function and tc.function.name:
                    slot["name"] = tc.function.name
                if tc.function and tc.function.arguments:
                    slot["arguments"] += tc.function.arguments
    assert finish == "tool_calls"
    assert calls[0]["name"] == "get_weather" and calls[0]["id"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}


@pytest.mark.parametrize(
    "model",
    ["openai/text-embedding-3-small", "azure/text-embedding-3-small", "google/gemini-embedding-001", "demo/embed"],
)
def test_embeddings(gateway, model):
    raw = client_for(gateway).embeddings.with_raw_response.create(model=model, input=["hello world", "second"])
    result = raw.parse()
    assert len(result.data) == 2 and len(result.data[0].embedding) > 0
    assert result.usage.prompt_tokens > 0
    record = the_record(gateway, raw.headers["x-request-id"])
    assert record.endpoint == "embeddings" and record.cost > 0


def test_models_list_and_detail(gateway):
    client = client_for(gateway)
    ids = [m.id for m in client.models.list()]
    assert "openai/gpt-4o-mini" in ids and "anthropic/claude-sonnet-4-5" in ids and "demo/echo" in ids
    model = client.models.retrieve("anthropic/claude-sonnet-4-5")
    extra = model.model_extra
    assert extra["pricing"]["input"] == "3" and extra["pricing"]["output"] == "15"
    assert extra["context_window"] == 200000
    assert extra["capabilities"]["tools"] is True
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("openai/does-not-exist")


def test_metadata_is_recorded_not_forwarded(gateway):
    client = client_for(gateway)
    raw = client.chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "meta"}],
        extra_body={
            "requesty": {
                "user_id": "end-user-7",
                "tags": ["checkout", "beta"],
                "trace_id": "tr-1",
                "extra": {"feature": "summary"},
            }
        },
        extra_headers={"X-Requesty-Team-Note": "from header"},
    )
    sent = gateway.fakes.requests[-1]
    assert "requesty" not in sent[2]
    assert not any(k.lower().startswith("x-requesty") for k in sent[1])
    record = the_record(gateway, raw.headers["x-request-id"])
    assert record.end_user == "end-user-7" and record.trace_id == "tr-1"
    assert record.tags == ["checkout", "beta"]
    assert record.metadata == {"feature": "summary", "team-note": "from header"}
