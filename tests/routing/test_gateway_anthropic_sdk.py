"""The official anthropic SDK, unmodified but for its base URL, against every provider family."""

from __future__ import annotations

from decimal import Decimal

import anthropic
import pytest

from billing.models import UsageRecord

MODELS = [
    "anthropic/claude-sonnet-4-5",
    "openai/gpt-4o-mini",
    "google/gemini-2.5-flash",
    "azure/gpt-4o-mini",
    "groq/llama-3.1-8b-instant",
    "demo/echo",
]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def client_for(gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0, timeout=20)


@pytest.mark.parametrize("model", MODELS)
def test_messages_create(gateway, model):
    raw = client_for(gateway).messages.with_raw_response.create(
        model=model, max_tokens=200, system="Be brief.", messages=[{"role": "user", "content": "Hello Claude"}]
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert "Hello Claude" in message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0
    cost = Decimal(str(message.usage.model_extra["cost"]))
    assert cost > 0
    gateway.drain()
    record = UsageRecord.objects.get(request_id=raw.headers["x-request-id"])
    assert record.endpoint == "messages" and record.cost == cost and record.model_used == model


@pytest.mark.parametrize("model", MODELS)
def test_messages_stream(gateway, model):
    with client_for(gateway).messages.stream(
        model=model, max_tokens=200, messages=[{"role": "user", "content": "Stream please"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
        request_id = stream.response.headers["x-request-id"]
    assert "Stream please" in text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    gateway.drain()
    record = UsageRecord.objects.get(request_id=request_id)
    assert record.streamed and record.status == "success" and record.cost > 0
    assert record.output_tokens == final.usage.output_tokens


@pytest.mark.parametrize("model", [m for m in MODELS if m != "demo/echo"])
def test_messages_tools(gateway, model):
    client = client_for(gateway)
    message = client.messages.create(
        model=model, max_tokens=200, tools=[WEATHER_TOOL], messages=[{"role": "user", "content": "weather in Paris?"}]
    )
    assert message.stop_reason == "tool_use"
    tool_use = next(b for b in message.content if b.type == "tool_use")
    assert tool_use.name == "get_weather" and tool_use.input == {"city": "Paris"}
    follow = client.messages.create(
        model=model,
        max_tokens=200,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": [b.model_dump() for b in message.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "21C"}]},
        ],
    )
    assert follow.content[0].text

    with client.messages.stream(
        model=model, max_tokens=200, tools=[WEATHER_TOOL], messages=[{"role": "user", "content": "weather in Paris?"}]
    ) as stream:
        final = stream.get_final_message()
    tool_use = next(b for b in final.content if b.type == "tool_use")
    assert final.stop_reason == "tool_use" and tool_use.input == {"city": "Paris"}


def test_native_passthrough_keeps_cache_control_and_beta_header(gateway):
    client = client_for(gateway)
    message = client.messages.create(
        model="anthropic/claude-sonnet-4-5",
        max_tokens=100,
        system=[{"type": "text", "text": "Long cached context", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "cached?"}],
        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"},
    )
    path, headers, body = gateway.fakes.requests[-1]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["model"] == "claude-sonnet-4-5"
    assert {k.lower(): v for k, v in headers.items()}["anthropic-beta"] == "prompt-caching-2024-07-31"
    usage = message.usage
    assert usage.cache_read_input_tokens or usage.cache_creation_input_tokens
    # Cache tokens are priced at their own rates (claude-sonnet-4-5: 3 / 15 / 0.3 read / 3.75 write per MTok).
    expected = (
        Decimal(usage.input_tokens) * 3
        + Decimal(usage.output_tokens) * 15
        + Decimal(usage.cache_read_input_tokens or 0) * Decimal("0.3")
        + Decimal(usage.cache_creation_input_tokens or 0) * Decimal("3.75")
    ) / 1_000_000
    assert Decimal(str(usage.model_extra["cost"])) == expected


def test_anthropic_errors_have_anthropic_shape(gateway):
    client = anthropic.Anthropic(base_url=gateway.url, api_key="rqk_wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(
            model="anthropic/claude-sonnet-4-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.NotFoundError):
        client_for(gateway).messages.create(
            model="anthropic/nope", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )


def test_count_tokens(gateway):
    client = client_for(gateway)
    native = client.messages.count_tokens(
        model="anthropic/claude-sonnet-4-5", system="one two", messages=[{"role": "user", "content": "three four"}]
    )
    assert native.input_tokens == 10 + 4  # the fake's count, passed through
    estimated = client.messages.count_tokens(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x" * 40}]
    )
    assert estimated.input_tokens == 10
    gateway.drain()
    assert not UsageRecord.objects.filter(endpoint="count_tokens").exists()
