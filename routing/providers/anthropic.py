"""Anthropic Messages: translation to and from the OpenAI format, and native pass-through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from .base import (
    ChatStream,
    Deployment,
    HTTPClient,
    ProviderError,
    Usage,
    dumps,
    error_for_status,
    estimate_chat_usage,
    estimate_prompt_tokens,
    estimate_tokens,
    iter_response_sse,
    loads_arguments,
    message_text,
    new_id,
    now,
    open_stream,
    parse_data_url,
    post_json,
    usage_chunk,
    usage_from_anthropic,
    usage_from_openai,
    usage_to_anthropic,
    usage_to_openai,
)

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
FORWARDED_HEADERS = ("anthropic-beta", "anthropic-version")

STOP_TO_FINISH = {
    "end_turn": "stop",
    "max_tokens": "length",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
    "model_context_window_exceeded": "length",
}
FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
# Anthropic error types (in bodies and in-stream error events) and the HTTP status each stands for.
ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def _invalid(message: str, code: str | None = None) -> ProviderError:
    return ProviderError(400, message, type="invalid_request_error", code=code)


# ---------------------------------------------------------------- OpenAI request -> Anthropic request


def _with_cache_control(block: dict, part: dict) -> dict:
    if part.get("cache_control"):
        block["cache_control"] = part["cache_control"]
    return block


def _image_block(part: dict) -> dict:
    image = part.get("image_url")
    url = image.get("url", "") if isinstance(image, dict) else str(image or "")
    parsed = parse_data_url(url)
    if parsed:
        media_type, data = parsed
        source: dict = {"type": "base64", "media_type": media_type, "data": data}
    elif url.startswith(("http://", "https://")):
        source = {"type": "url", "url": url}
    else:
        raise _invalid("image_url must be an http(s) URL or a base64 data: URL", "invalid_image_url")
    return _with_cache_control({"type": "image", "source": source}, part)


def _file_block(part: dict) -> dict:
    file = part.get("file") or {}
    parsed = parse_data_url(file.get("file_data") or "")
    if not parsed:
        raise _invalid("Anthropic models only accept files sent inline as base64 file_data", "unsupported_file")
    media_type, data = parsed
    return _with_cache_control(
        {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}, part
    )


def _part_to_block(part: Any) -> dict:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    kind = part.get("type")
    if kind == "text":
        return _with_cache_control({"type": "text", "text": part.get("text", "")}, part)
    if kind == "image_url":
        return _image_block(part)
    if kind == "file":
        return _file_block(part)
    raise _invalid(f"Content part type {kind!r} is not supported by Anthropic models", "unsupported_content")


def _system_blocks(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [
        _with_cache_control({"type": "text", "text": p.get("text", "")}, p)
        for p in content or []
        if isinstance(p, dict) and p.get("type") == "text"
    ]


def _user_content(content: Any) -> str | list[dict]:
    if isinstance(content, str):
        return content
    return [_part_to_block(p) for p in content or []]


def _assistant_content(msg: dict) -> str | list[dict] | None:
    content = msg.get("content")
    tool_calls = msg.get("tool_calls") or []
    if isinstance(content, str) and not tool_calls:
        return content or None
    blocks: list[dict] = []
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    else:
        for p in content or []:
            # Anthropic rejects empty text blocks, which OpenAI clients happily send back.
            if isinstance(p, dict) and p.get("type") in ("text", "refusal") and (p.get("text") or p.get("refusal")):
                blocks.append(_with_cache_control({"type": "text", "text": p.get("text") or p.get("refusal")}, p))
    for tc in tool_calls:
        fn = tc.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": tc.get("id") or new_id("toolu_"),
                "name": fn.get("name", ""),
                "input": loads_arguments(fn.get("arguments")),
            }
        )
    return blocks or None


def _tool_result_content(content: Any) -> str | list[dict]:
    if isinstance(content, str) or content is None:
        return content or ""
    return [_part_to_block(p) for p in content]


def _is_tool_results(msg: dict) -> bool:
    content = msg.get("content")
    return (
        msg["role"] == "user"
        and isinstance(content, list)
        and bool(content)
        and all(b.get("type") == "tool_result" for b in content)
    )


def _tool_choice_to_anthropic(choice: Any, parallel: Any) -> dict | None:
    if choice is None:
        out: dict | None = {"type": "auto"} if parallel is False else None
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        out = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    else:
        raise _invalid(f"Unsupported tool_choice for Anthropic models: {choice!r}", "unsupported_tool_choice")
    if out is not None and parallel is False:
        out["disable_parallel_tool_use"] = True
    return out


def _response_format_instruction(fmt: Any) -> str | None:
    # Anthropic has no JSON mode and a forced tool would change the response shape: ask in the system prompt.
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        return "Respond only with a single JSON value that matches this JSON Schema, with no other text: " + dumps(
            schema
        )
    if fmt.get("type") == "json_object":
        return "Respond only with a single valid JSON object, with no other text."
    return None


def openai_to_anthropic_request(body: dict) -> dict:
    """Translate an OpenAI chat request into an Anthropic Messages request (the caller sets stream)."""
    n = body.get("n")
    if n is not None and n > 1:
        raise _invalid("n>1 is not supported by Anthropic models", "unsupported_parameter")
    system: list[dict] = []
    messages: list[dict] = []
    for msg in body.get("messages") or []:
        role = msg.get("role")
        content = msg.get("content")
        if role in ("system", "developer"):
            system.extend(_system_blocks(content))
        elif role == "user":
            messages.append({"role": "user", "content": _user_content(content)})
        elif role == "assistant":
            assistant = _assistant_content(msg)
            if assistant is not None:
                messages.append({"role": "assistant", "content": assistant})
        elif role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": msg.get("tool_call_id", ""),
                "content": _tool_result_content(content),
            }
            if messages and _is_tool_results(messages[-1]):
                messages[-1]["content"].append(block)
            else:
                messages.append({"role": "user", "content": [block]})
        else:
            raise _invalid(f"Message role {role!r} is not supported by Anthropic models", "unsupported_role")

    instruction = _response_format_instruction(body.get("response_format"))
    if instruction:
        system.append({"type": "text", "text": instruction})

    out: dict[str, Any] = {}
    if body.get("model"):
        out["model"] = body["model"]
    out["messages"] = messages
    out["max_tokens"] = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    if system:
        out["system"] = system
    if body.get("temperature") is not None:
        # OpenAI allows up to 2, Anthropic up to 1; clamping beats a 400 for a sampling hint.
        out["temperature"] = min(float(body["temperature"]), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    if body.get("top_k") is not None:
        out["top_k"] = body["top_k"]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("user"):
        out["metadata"] = {"user_id": str(body["user"])}
    if isinstance(body.get("thinking"), dict):
        out["thinking"] = body["thinking"]

    tools = []
    for tool in body.get("tools") or []:
        if tool.get("type", "function") != "function":
            raise _invalid(f"Tool type {tool.get('type')!r} is not supported by Anthropic models", "unsupported_tool")
        fn = tool.get("function") or {}
        converted: dict[str, Any] = {"name": fn.get("name", "")}
        if fn.get("description"):
            converted["description"] = fn["description"]
        converted["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
        _with_cache_control(converted, tool)
        tools.append(converted)
    if tools:
        out["tools"] = tools
        choice = _tool_choice_to_anthropic(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    return out


# ---------------------------------------------------------------- Anthropic response -> OpenAI response


def anthropic_to_openai_response(resp: dict, model: str, *, created: int | None = None) -> dict:
    """Translate an Anthropic Message into an OpenAI chat.completion."""
    texts: list[str] = []
    thinking: list[str] = []
    tool_calls: list[dict] = []
    for block in resp.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": dumps(block.get("input") or {})},
                }
            )
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if thinking:
        message["reasoning_content"] = "".join(thinking)
    return {
        "id": resp.get("id") or new_id(),
        "object": "chat.completion",
        "created": created if created is not None else now(),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": STOP_TO_FINISH.get(resp.get("stop_reason") or "", "stop"),
            }
        ],
        "usage": usage_to_openai(usage_from_anthropic(resp.get("usage"))),
    }


def merge_delta_usage(usage: Usage, u: dict | None) -> None:
    """Apply a message_delta usage (cumulative totals; optional counts absent when unchanged)."""
    if not isinstance(u, dict) or not u:
        return
    if u.get("output_tokens") is not None:
        usage.output_tokens = int(u["output_tokens"])
    if u.get("input_tokens") is not None:
        usage.input_tokens = int(u["input_tokens"])
    if u.get("cache_read_input_tokens") is not None:
        usage.cache_read_tokens = int(u["cache_read_input_tokens"])
    if u.get("cache_creation_input_tokens") is not None:
        usage.cache_write_tokens = int(u["cache_creation_input_tokens"])
    details = u.get("output_tokens_details")
    if isinstance(details, dict) and details.get("thinking_tokens") is not None:
        usage.reasoning_tokens = int(details["thinking_tokens"])
    usage.reported = True


def stream_error(data: dict) -> ProviderError:
    """The ProviderError for an in-stream Anthropic error event."""
    err = data.get("error") or {}
    kind = err.get("type") or "api_error"
    return error_for_status(ERROR_TYPE_STATUS.get(kind, 500), str(err.get("message") or kind), kind)


class AnthropicEventsToOpenAIChunks:
    """Turns Anthropic stream events into OpenAI chat.completion.chunk dicts, tracking usage."""

    def __init__(self, model: str, *, usage: Usage | None = None, created: int | None = None) -> None:
        self.model = model
        self.usage = usage if usage is not None else Usage()
        self.created = created if created is not None else now()
        self.id = new_id()
        self.finish_reason: str | None = None
        self.done = False
        self._tool_index: dict[int, int] = {}

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def usage_chunk(self) -> dict:
        """The trailing usage chunk."""
        return usage_chunk(self.id, self.created, self.model, self.usage)

    def feed(self, name: str | None, data: dict) -> list[dict]:
        """Convert one event; returns zero or more chunks. Raises ProviderError on an error event."""
        kind = data.get("type") or name
        if kind == "message_start":
            message = data.get("message") or {}
            self.id = message.get("id") or self.id
            if message.get("usage"):
                self.usage.update(usage_from_anthropic(message["usage"]))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            btype = block.get("type")
            if btype == "tool_use":
                index = len(self._tool_index)
                self._tool_index[data.get("index", 0)] = index
                call = {
                    "index": index,
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": ""},
                }
                return [self._chunk({"tool_calls": [call]})]
            if btype == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            if btype == "thinking" and block.get("thinking"):
                return [self._chunk({"reasoning_content": block["thinking"]})]
            return []
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if dtype == "input_json_delta":
                partial = delta.get("partial_json", "")
                index = self._tool_index.get(data.get("index", 0))
                if not partial or index is None:
                    return []
                return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": partial}}]})]
            if dtype == "thinking_delta":
                return [self._chunk({"reasoning_content": delta.get("thinking", "")})]
            return []
        if kind == "message_delta":
            merge_delta_usage(self.usage, data.get("usage"))
            stop = (data.get("delta") or {}).get("stop_reason")
            self.finish_reason = STOP_TO_FINISH.get(stop or "", "stop")
            return [self._chunk({}, self.finish_reason)]
        if kind == "message_stop":
            self.done = True
            return []
        if kind == "error":
            raise stream_error(data)
        # ping, content_block_stop and unknown future events carry nothing for OpenAI clients.
        return []


# ---------------------------------------------------------------- Anthropic request -> OpenAI request


def _anthropic_block_to_part(block: dict) -> dict | None:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "image":
        source = block.get("source") or {}
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
        elif source.get("type") == "url":
            url = source.get("url", "")
        else:
            raise _invalid(f"Image source type {source.get('type')!r} is not supported for this model")
        return {"type": "image_url", "image_url": {"url": url}}
    if kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "base64":
            data_url = f"data:{source.get('media_type', 'application/pdf')};base64,{source.get('data', '')}"
            return {
                "type": "file",
                "file": {"file_data": data_url, "filename": block.get("title") or "document.pdf"},
            }
        if source.get("type") == "text":
            return {"type": "text", "text": source.get("data", "")}
        raise _invalid(f"Document source type {source.get('type')!r} is not supported for this model")
    # Thinking and other model-produced blocks carry nothing a non-Anthropic model can use.
    return None


def _anthropic_user_to_openai(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict] = []
    parts: list[dict] = []
    for block in content or []:
        if block.get("type") == "tool_result":
            # Tool messages must directly follow the assistant turn that called the tools.
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": block.get("tool_use_id", ""),
                    "content": message_text(block.get("content")),
                }
            )
            continue
        part = _anthropic_block_to_part(block)
        if part is not None:
            parts.append(part)
    if parts:
        if len(parts) == 1 and parts[0]["type"] == "text":
            out.append({"role": "user", "content": parts[0]["text"]})
        else:
            out.append({"role": "user", "content": parts})
    return out


def _anthropic_assistant_to_openai(content: Any) -> dict:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    tool_calls: list[dict] = []
    for block in content or []:
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": dumps(block.get("input") or {})},
                }
            )
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if tool_calls:
        msg["tool_calls"] = tool_calls
    return msg


def _tool_choice_to_openai(choice: dict) -> Any:
    kind = choice.get("type")
    if kind == "auto":
        return "auto"
    if kind == "any":
        return "required"
    if kind == "none":
        return "none"
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    raise _invalid(f"Unsupported tool_choice type {kind!r}")


def anthropic_to_openai_request(body: dict) -> dict:
    """Translate an Anthropic Messages request into an OpenAI chat request (top_k is dropped)."""
    messages: list[dict] = []
    system = body.get("system")
    if system:
        text = (
            system
            if isinstance(system, str)
            else "\n".join(b.get("text", "") for b in system if isinstance(b, dict) and b.get("type") == "text")
        )
        if text:
            messages.append({"role": "system", "content": text})
    for msg in body.get("messages") or []:
        role = msg.get("role")
        if role == "user":
            messages.extend(_anthropic_user_to_openai(msg.get("content")))
        elif role == "assistant":
            messages.append(_anthropic_assistant_to_openai(msg.get("content")))
        else:
            raise _invalid(f"Unsupported message role {role!r}")

    out: dict[str, Any] = {}
    if body.get("model"):
        out["model"] = body["model"]
    out["messages"] = messages
    if body.get("max_tokens") is not None:
        out["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    user_id = (body.get("metadata") or {}).get("user_id")
    if user_id:
        out["user"] = user_id
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}

    tools = []
    for tool in body.get("tools") or []:
        if tool.get("type") not in (None, "custom") or "input_schema" not in tool:
            raise _invalid(f"Anthropic server tool {tool.get('type') or tool.get('name')!r} is not available here")
        fn: dict[str, Any] = {"name": tool.get("name", "")}
        if tool.get("description"):
            fn["description"] = tool["description"]
        fn["parameters"] = tool["input_schema"]
        tools.append({"type": "function", "function": fn})
    if tools:
        out["tools"] = tools
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            out["tool_choice"] = _tool_choice_to_openai(choice)
            if choice.get("disable_parallel_tool_use"):
                out["parallel_tool_calls"] = False
    return out


# ---------------------------------------------------------------- OpenAI response -> Anthropic response


def _message_id(openai_id: str | None) -> str:
    if openai_id and openai_id.startswith("msg_"):
        return openai_id
    suffix = (openai_id or "").removeprefix("chatcmpl-")
    return "msg_" + (suffix or new_id(""))


def openai_to_anthropic_response(resp: dict, model: str) -> dict:
    """Translate an OpenAI chat.completion into an Anthropic Message."""
    choices = resp.get("choices") or [{}]
    choice = choices[0]
    msg = choice.get("message") or {}
    content: list[dict] = []
    text = msg.get("content")
    if isinstance(text, list):
        text = message_text(text)
    if text:
        content.append({"type": "text", "text": text})
    for tc in msg.get("tool_calls") or []:
        fn = tc.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": tc.get("id") or new_id("toolu_"),
                "name": fn.get("name", ""),
                "input": loads_arguments(fn.get("arguments")),
            }
        )
    return {
        "id": _message_id(resp.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": FINISH_TO_STOP.get(choice.get("finish_reason") or "", "end_turn"),
        "stop_sequence": None,
        "usage": usage_to_anthropic(usage_from_openai(resp.get("usage"))),
    }


def _same_counts(a: Usage, b: Usage) -> bool:
    return (
        a.input_tokens,
        a.output_tokens,
        a.cache_read_tokens,
        a.cache_write_tokens,
        a.reasoning_tokens,
    ) == (
        b.input_tokens,
        b.output_tokens,
        b.cache_read_tokens,
        b.cache_write_tokens,
        b.reasoning_tokens,
    )


class OpenAIChunksToAnthropicEvents:
    """Converts a stream of OpenAI chunks into the Anthropic SSE event sequence, as (name, data) pairs."""

    def __init__(self, model: str, *, message_id: str | None = None, usage: Usage | None = None) -> None:
        self.model = model
        self.id = message_id or new_id("msg_")
        self.usage = usage if usage is not None else Usage()
        self._shared_usage = usage is not None
        self.stop_reason: str | None = None
        self._started = False
        self._finished = False
        self._block = -1
        self._block_type: str | None = None
        self._block_open = False
        self._tool_blocks: dict[int, int] = {}

    def _start(self) -> list[tuple[str, dict]]:
        self._started = True
        message = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_to_anthropic(self.usage),
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def _close(self) -> list[tuple[str, dict]]:
        if not self._block_open:
            return []
        self._block_open = False
        self._block_type = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self._block})]

    def _open(self, block: dict) -> list[tuple[str, dict]]:
        events = self._close()
        self._block += 1
        self._block_open = True
        self._block_type = block["type"]
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": self._block, "content_block": block},
            )
        )
        return events

    def feed(self, chunk: dict) -> list[tuple[str, dict]]:
        """Convert one OpenAI chunk into zero or more Anthropic events."""
        events = [] if self._started else self._start()
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            parsed = usage_from_openai(usage)
            # A shared Usage (the adapter's stream.usage) already holds these counts, possibly estimated;
            # re-reading them from the chunk would wrongly mark an estimate as reported.
            if not (self._shared_usage and _same_counts(parsed, self.usage)):
                self.usage.update(parsed)
        for choice in chunk.get("choices") or []:
            # Anthropic messages have a single candidate.
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                if self._block_type != "text":
                    events += self._open({"type": "text", "text": ""})
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": self._block,
                            "delta": {"type": "text_delta", "text": text},
                        },
                    )
                )
            for tc in delta.get("tool_calls") or []:
                ti = tc.get("index", 0)
                fn = tc.get("function") or {}
                if ti not in self._tool_blocks:
                    block = {
                        "type": "tool_use",
                        "id": tc.get("id") or new_id("toolu_"),
                        "name": fn.get("name") or "",
                        "input": {},
                    }
                    events += self._open(block)
                    self._tool_blocks[ti] = self._block
                if fn.get("arguments"):
                    events.append(
                        (
                            "content_block_delta",
                            {
                                "type": "content_block_delta",
                                "index": self._tool_blocks[ti],
                                "delta": {"type": "input_json_delta", "partial_json": fn["arguments"]},
                            },
                        )
                    )
            if choice.get("finish_reason"):
                self.stop_reason = FINISH_TO_STOP.get(choice["finish_reason"], "end_turn")
                events += self._close()
        return events

    def finish(self) -> list[tuple[str, dict]]:
        """Close the message: the last block, message_delta with the final usage, message_stop."""
        if self._finished:
            return []
        self._finished = True
        events = [] if self._started else self._start()
        events += self._close()
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self.stop_reason or "end_turn", "stop_sequence": None},
                    "usage": usage_to_anthropic(self.usage),
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return events


# ---------------------------------------------------------------- the adapter


def _count_event_deltas(event: tuple[str, dict]) -> int:
    return 1 if event[1].get("type") == "content_block_delta" else 0


def anthropic_prompt_estimate(body: dict) -> int:
    text = message_text(body.get("system")) + "".join(
        message_text(m.get("content")) for m in body.get("messages") or []
    )
    return estimate_tokens(text)


class AnthropicAdapter:
    """Calls Anthropic's /v1/messages, translating from OpenAI or passing Anthropic requests through."""

    wire = "anthropic"

    def messages_url(self, dep: Deployment) -> str:
        """Where Messages requests are posted, tolerating a base_url that already ends in /v1."""
        base = dep.base_url.rstrip("/")
        return base + ("/messages" if base.endswith("/v1") else "/v1/messages")

    def headers(self, dep: Deployment, extra_headers: dict[str, str] | None = None) -> dict[str, str]:
        """Auth, version and content headers, plus the client's anthropic-beta if forwarded."""
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "x-api-key": dep.api_key,
            "anthropic-version": ANTHROPIC_VERSION,
        }
        for key, value in (extra_headers or {}).items():
            if key.lower() in FORWARDED_HEADERS and value:
                headers[key.lower()] = value
        return headers

    async def chat(self, client: HTTPClient, dep: Deployment, body: dict) -> tuple[dict, Usage]:
        """One OpenAI-format chat completion served by an Anthropic model."""
        payload = openai_to_anthropic_request(body)
        payload["model"] = dep.model
        data = await post_json(client, dep, self.messages_url(dep), self.headers(dep), payload)
        response = anthropic_to_openai_response(data, dep.model)
        usage = usage_from_anthropic(data.get("usage"))
        return response, usage if usage.reported else estimate_chat_usage(body, response)

    def chat_stream(self, client: HTTPClient, dep: Deployment, body: dict) -> ChatStream:
        """A streaming OpenAI-format chat completion; the upstream call happens on the first __anext__."""

        async def run(stream: ChatStream) -> AsyncIterator[dict]:
            payload = openai_to_anthropic_request(body)
            payload["model"] = dep.model
            payload["stream"] = True
            resp = await open_stream(client, dep, self.messages_url(dep), self.headers(dep), payload)
            conv = AnthropicEventsToOpenAIChunks(dep.model, usage=stream.usage)
            try:
                async for ev in iter_response_sse(resp, dep):
                    try:
                        data = orjson.loads(ev.data)
                    except orjson.JSONDecodeError:
                        continue
                    for chunk in conv.feed(ev.event, data):
                        yield chunk
                    if conv.done:
                        break
            finally:
                await resp.aclose()
            if not conv.done:
                raise ProviderError(502, "Anthropic stream ended before message_stop", retryable=True)
            stream.finalize()
            yield conv.usage_chunk()

        return ChatStream(run, model=dep.model, prompt_estimate=estimate_prompt_tokens(body))

    async def embeddings(self, client: HTTPClient, dep: Deployment, body: dict) -> tuple[dict, Usage]:
        """Anthropic offers no embeddings."""
        raise _invalid("Anthropic models do not support embeddings", "unsupported_operation")

    async def messages(
        self,
        client: HTTPClient,
        dep: Deployment,
        body: dict,
        *,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[dict, Usage]:
        """Native pass-through: an Anthropic request and response, untouched except the model."""
        payload = dict(body)
        payload["model"] = dep.model
        payload.pop("stream", None)
        data = await post_json(client, dep, self.messages_url(dep), self.headers(dep, extra_headers), payload)
        usage = usage_from_anthropic(data.get("usage"))
        if not usage.reported:
            usage.input_tokens = anthropic_prompt_estimate(body)
            usage.output_tokens = estimate_tokens(message_text(data.get("content")))
        return data, usage

    async def count_tokens(
        self, client: HTTPClient, dep: Deployment, body: dict, *, extra_headers: dict[str, str] | None = None
    ) -> dict:
        """Anthropic's token counter for a Messages request (free; no usage to bill)."""
        payload = {k: v for k, v in body.items() if k not in {"max_tokens", "stream", "metadata"}}
        payload["model"] = dep.model
        url = self.messages_url(dep) + "/count_tokens"
        return await post_json(client, dep, url, self.headers(dep, extra_headers), payload)

    def messages_stream(
        self,
        client: HTTPClient,
        dep: Deployment,
        body: dict,
        *,
        extra_headers: dict[str, str] | None = None,
    ) -> ChatStream:
        """Native streaming pass-through yielding raw (event_name, data) pairs, with a running .usage."""
        payload = dict(body)
        payload["model"] = dep.model
        payload["stream"] = True

        async def run(stream: ChatStream) -> AsyncIterator[tuple[str, dict]]:
            resp = await open_stream(client, dep, self.messages_url(dep), self.headers(dep, extra_headers), payload)
            stopped = False
            try:
                async for ev in iter_response_sse(resp, dep):
                    try:
                        data = orjson.loads(ev.data)
                    except orjson.JSONDecodeError:
                        continue
                    name = ev.event or data.get("type") or "message"
                    if name == "message_start":
                        usage = (data.get("message") or {}).get("usage")
                        if usage:
                            stream.usage.update(usage_from_anthropic(usage))
                    elif name == "message_delta":
                        merge_delta_usage(stream.usage, data.get("usage"))
                    elif name == "message_stop":
                        stopped = True
                        stream.finalize()
                    yield name, data
                    if stopped:
                        break
            finally:
                await resp.aclose()

        return ChatStream(
            run, model=dep.model, prompt_estimate=anthropic_prompt_estimate(body), count=_count_event_deltas
        )
