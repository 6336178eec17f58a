"""An in-process provider that answers deterministically, for demos and tests without network."""

from __future__ import annotations

import asyncio
import hashlib
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

from .base import (
    ChatStream,
    Deployment,
    HTTPClient,
    Usage,
    embedding_inputs,
    estimate_tokens,
    make_chunk,
    message_text,
    new_id,
    now,
    openai_embeddings_response,
    usage_chunk,
    usage_to_openai,
)

REPLY_PREFIX = "This is a demo response from the Requesty demo provider. You said: "
EMBEDDING_DIMS = 8


def _last_user_text(body: dict) -> str:
    for msg in reversed(body.get("messages") or []):
        if msg.get("role") == "user":
            return message_text(msg.get("content"))
    return ""


def demo_reply(body: dict) -> str:
    """The reply text for a chat request."""
    return REPLY_PREFIX + _last_user_text(body)[:200]


def demo_input_tokens(body: dict) -> int:
    """Input tokens: a quarter of the characters of all message text, rounded up."""
    return math.ceil(sum(len(message_text(m.get("content"))) for m in body.get("messages") or []) / 4)


def _forced_tool(body: dict) -> str | None:
    tools = [t for t in body.get("tools") or [] if t.get("type", "function") == "function"]
    choice = body.get("tool_choice")
    if not tools:
        return None
    if choice == "required":
        return (tools[0].get("function") or {}).get("name", "")
    if isinstance(choice, dict) and choice.get("type") == "function":
        return (choice.get("function") or {}).get("name", "")
    return None


def demo_vector(text: str) -> list[float]:
    """A deterministic unit vector derived from the text's sha256."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [v / 32767.5 - 1.0 for v in struct.unpack(f">{EMBEDDING_DIMS}H", digest[: EMBEDDING_DIMS * 2])]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 6) for v in raw]


class DemoAdapter:
    """Answers without any HTTP call; the client argument is accepted and ignored."""

    wire = "demo"

    def _tool_call(self, name: str) -> dict:
        return {"id": new_id("call_"), "type": "function", "function": {"name": name, "arguments": "{}"}}

    async def chat(self, client: HTTPClient | None, dep: Deployment, body: dict) -> tuple[dict, Usage]:
        """One deterministic chat completion."""
        tool = _forced_tool(body)
        message: dict[str, Any]
        if tool is not None:
            message = {"role": "assistant", "content": None, "tool_calls": [self._tool_call(tool)]}
            finish, output = "tool_calls", 1
        else:
            reply = demo_reply(body)
            message = {"role": "assistant", "content": reply}
            finish, output = "stop", len(reply.split())
        usage = Usage(input_tokens=demo_input_tokens(body), output_tokens=output, reported=True)
        response = {
            "id": new_id(),
            "object": "chat.completion",
            "created": now(),
            "model": dep.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": usage_to_openai(usage),
        }
        return response, usage

    def chat_stream(self, client: HTTPClient | None, dep: Deployment, body: dict) -> ChatStream:
        """One chunk per word, then a finish chunk, then the usage chunk."""

        async def run(stream: ChatStream) -> AsyncIterator[dict]:
            cid, created = new_id(), now()
            stream.usage.input_tokens = demo_input_tokens(body)
            stream.usage.reported = True
            tool = _forced_tool(body)
            if tool is not None:
                call = {"index": 0, **self._tool_call(tool)}
                yield make_chunk(cid, created, dep.model, {"role": "assistant", "content": None, "tool_calls": [call]})
                stream.usage.output_tokens = 1
                await asyncio.sleep(0)
                finish = "tool_calls"
            else:
                words = demo_reply(body).split()
                for i, word in enumerate(words):
                    delta: dict[str, Any] = {"content": word if i == len(words) - 1 else word + " "}
                    if i == 0:
                        delta = {"role": "assistant", **delta}
                    stream.usage.output_tokens = i + 1
                    yield make_chunk(cid, created, dep.model, delta)
                    await asyncio.sleep(0)
                finish = "stop"
            yield make_chunk(cid, created, dep.model, {}, finish)
            stream.finalize()
            yield usage_chunk(cid, created, dep.model, stream.usage)

        return ChatStream(run, model=dep.model)

    async def embeddings(self, client: HTTPClient | None, dep: Deployment, body: dict) -> tuple[dict, Usage]:
        """Deterministic 8-dimensional embeddings."""
        texts = embedding_inputs(body)
        tokens = sum(estimate_tokens(t) for t in texts)
        response = openai_embeddings_response(
            [demo_vector(t) for t in texts], dep.model, body.get("encoding_format"), tokens
        )
        return response, Usage(input_tokens=tokens, reported=True)
