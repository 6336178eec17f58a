"""Google Gemini (generativelanguage v1beta): translation to and from the OpenAI format."""

from __future__ import annotations

import mimetypes
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
    embedding_inputs,
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
    openai_embeddings_response,
    parse_data_url,
    post_json,
    usage_chunk,
    usage_from_gemini,
    usage_to_openai,
)

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
# Gemini's function parameters take an OpenAPI subset and reject unknown keys such as additionalProperties.
SCHEMA_KEYS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "items", "minimum", "maximum",
}  # fmt: skip


def _invalid(message: str, code: str | None = None) -> ProviderError:
    return ProviderError(400, message, type="invalid_request_error", code=code)


def clean_schema(schema: Any) -> Any:
    """Reduce a JSON Schema to the OpenAPI subset Gemini function declarations accept."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "const":
            out["enum"] = [value]
        elif key == "type" and isinstance(value, list):
            # ["string", "null"] is how JSON Schema spells an optional value; Gemini wants nullable.
            kinds = [t for t in value if t != "null"]
            out["type"] = kinds[0] if kinds else "string"
            if "null" in value:
                out["nullable"] = True
        elif key not in SCHEMA_KEYS:
            continue
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: clean_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = clean_schema(value)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [clean_schema(sub) for sub in value]
        else:
            out[key] = value
    return out


def _media_part(url: str) -> dict:
    parsed = parse_data_url(url)
    if parsed:
        return {"inlineData": {"mimeType": parsed[0], "data": parsed[1]}}
    if url.startswith(("http://", "https://", "gs://")):
        mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    raise _invalid("Media URLs must be http(s), gs:// or base64 data: URLs", "invalid_image_url")


def _parts(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"text": content}]
    parts: list[dict] = []
    for part in content or []:
        kind = part.get("type")
        if kind == "text":
            parts.append({"text": part.get("text", "")})
        elif kind == "image_url":
            image = part.get("image_url")
            parts.append(_media_part(image.get("url", "") if isinstance(image, dict) else str(image or "")))
        elif kind == "file":
            parts.append(_media_part((part.get("file") or {}).get("file_data") or ""))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            parts.append(
                {
                    "inlineData": {
                        "mimeType": f"audio/{audio.get('format', 'wav')}",
                        "data": audio.get("data", ""),
                    }
                }
            )
        else:
            raise _invalid(f"Content part type {kind!r} is not supported by Gemini models", "unsupported_content")
    return parts


def _only_function_responses(content: dict) -> bool:
    return content["role"] == "user" and all("functionResponse" in p for p in content["parts"])


def _generation_config(body: dict) -> dict:
    config: dict[str, Any] = {}
    for src, dst in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("top_k", "topK"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if body.get(src) is not None:
            config[dst] = body[src]
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("n") is not None:
        config["candidateCount"] = body["n"]
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema")
        if fmt["type"] == "json_schema" and schema:
            # responseJsonSchema takes standard JSON Schema, unlike responseSchema's OpenAPI subset.
            config["responseJsonSchema"] = schema
    return config


def openai_to_gemini_request(body: dict) -> dict:
    """Translate an OpenAI chat request into a Gemini GenerateContentRequest (the model goes in the URL)."""
    system: list[dict] = []
    contents: list[dict] = []
    call_names: dict[str, str] = {}
    for msg in body.get("messages") or []:
        role = msg.get("role")
        content = msg.get("content")
        if role in ("system", "developer"):
            system.extend(p for p in _parts(content) if "text" in p)
        elif role == "user":
            contents.append({"role": "user", "parts": _parts(content)})
        elif role == "assistant":
            parts = [p for p in (_parts(content) if content else []) if p.get("text") != ""]
            for tc in msg.get("tool_calls") or []:
                fn = tc.get("function") or {}
                call_names[tc.get("id", "")] = fn.get("name", "")
                parts.append(
                    {
                        "functionCall": {
                            "name": fn.get("name", ""),
                            "args": loads_arguments(fn.get("arguments")),
                        }
                    }
                )
            if parts:
                contents.append({"role": "model", "parts": parts})
        elif role == "tool":
            name = call_names.get(msg.get("tool_call_id", "")) or msg.get("name") or ""
            result = content if isinstance(content, str) else message_text(content)
            part = {"functionResponse": {"name": name, "response": {"content": result}}}
            # Gemini expects all responses to one model turn's calls in a single user content.
            if contents and _only_function_responses(contents[-1]):
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
        else:
            raise _invalid(f"Message role {role!r} is not supported by Gemini models", "unsupported_role")

    out: dict[str, Any] = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    declarations = []
    for tool in body.get("tools") or []:
        if tool.get("type", "function") != "function":
            raise _invalid(f"Tool type {tool.get('type')!r} is not supported by Gemini models", "unsupported_tool")
        fn = tool.get("function") or {}
        decl: dict[str, Any] = {"name": fn.get("name", "")}
        if fn.get("description"):
            decl["description"] = fn["description"]
        params = fn.get("parameters")
        # Gemini rejects an OBJECT schema with no properties, so a parameterless function sends none.
        if isinstance(params, dict) and params.get("properties"):
            decl["parameters"] = clean_schema(params)
        declarations.append(decl)
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
        choice = body.get("tool_choice")
        if choice is not None:
            if isinstance(choice, dict):
                name = (choice.get("function") or {}).get("name", "")
                config: dict[str, Any] = {"mode": "ANY", "allowedFunctionNames": [name]}
            elif choice in TOOL_MODES:
                config = {"mode": TOOL_MODES[choice]}
            else:
                raise _invalid(f"Unsupported tool_choice: {choice!r}", "unsupported_tool_choice")
            out["toolConfig"] = {"functionCallingConfig": config}
    generation = _generation_config(body)
    if generation:
        out["generationConfig"] = generation
    return out


def _function_call(part: dict, index: int | None = None) -> dict:
    call = part["functionCall"]
    tool_call: dict[str, Any] = {}
    if index is not None:
        tool_call["index"] = index
    tool_call.update(
        {
            "id": call.get("id") or new_id("call_"),
            "type": "function",
            "function": {"name": call.get("name", ""), "arguments": dumps(call.get("args") or {})},
        }
    )
    return tool_call


def _finish_reason(reason: str | None, had_tools: bool) -> str:
    if had_tools:
        return "tool_calls"
    return FINISH_REASONS.get(reason or "", "stop")


def _response_id(resp: dict) -> str:
    rid = resp.get("responseId")
    return f"chatcmpl-{rid}" if rid else new_id()


def gemini_to_openai_response(resp: dict, model: str, *, created: int | None = None) -> dict:
    """Translate a GenerateContentResponse into an OpenAI chat.completion, one choice per candidate."""
    choices = []
    for i, cand in enumerate(resp.get("candidates") or []):
        texts: list[str] = []
        thoughts: list[str] = []
        tool_calls: list[dict] = []
        for part in (cand.get("content") or {}).get("parts") or []:
            if "functionCall" in part:
                tool_calls.append(_function_call(part))
            elif part.get("thought"):
                thoughts.append(part.get("text", ""))
            elif "text" in part:
                texts.append(part["text"])
        message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        if thoughts:
            message["reasoning_content"] = "".join(thoughts)
        choices.append(
            {
                "index": cand.get("index", i),
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(cand.get("finishReason"), bool(tool_calls)),
            }
        )
    if not choices:
        # The whole prompt was blocked: Gemini returns promptFeedback and no candidates.
        blocked = bool((resp.get("promptFeedback") or {}).get("blockReason"))
        choices.append(
            {
                "index": 0,
                "message": {"role": "assistant", "content": None},
                "logprobs": None,
                "finish_reason": "content_filter" if blocked else "stop",
            }
        )
    return {
        "id": _response_id(resp),
        "object": "chat.completion",
        "created": created if created is not None else now(),
        "model": model,
        "choices": choices,
        "usage": usage_to_openai(usage_from_gemini(resp.get("usageMetadata"))),
    }


class GeminiChunksToOpenAI:
    """Turns streamed GenerateContentResponse objects into OpenAI chunks, tracking usage."""

    def __init__(self, model: str, *, usage: Usage | None = None, created: int | None = None) -> None:
        self.model = model
        self.usage = usage if usage is not None else Usage()
        self.created = created if created is not None else now()
        self.id = ""
        self._started = False
        self._tool_counts: dict[int, int] = {}
        self._finished: set[int] = set()

    def _chunk(self, index: int, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason}],
        }

    def feed(self, resp: dict) -> list[dict]:
        """Convert one streamed response; raises ProviderError if it carries an error."""
        if isinstance(resp.get("error"), dict):
            err = resp["error"]
            raise error_for_status(int(err.get("code") or 500), str(err.get("message") or ""), err.get("status"))
        chunks: list[dict] = []
        if not self._started:
            self._started = True
            self.id = _response_id(resp)
            chunks.append(self._chunk(0, {"role": "assistant", "content": ""}))
        if resp.get("usageMetadata"):
            self.usage.update(usage_from_gemini(resp["usageMetadata"]))
        candidates = resp.get("candidates") or []
        for i, cand in enumerate(candidates):
            index = cand.get("index", i)
            for part in (cand.get("content") or {}).get("parts") or []:
                if "functionCall" in part:
                    n = self._tool_counts.get(index, 0)
                    self._tool_counts[index] = n + 1
                    chunks.append(self._chunk(index, {"tool_calls": [_function_call(part, n)]}))
                elif part.get("thought"):
                    if part.get("text"):
                        chunks.append(self._chunk(index, {"reasoning_content": part["text"]}))
                elif part.get("text"):
                    chunks.append(self._chunk(index, {"content": part["text"]}))
            if cand.get("finishReason") and index not in self._finished:
                self._finished.add(index)
                reason = _finish_reason(cand["finishReason"], bool(self._tool_counts.get(index)))
                chunks.append(self._chunk(index, {}, reason))
        if not candidates and (resp.get("promptFeedback") or {}).get("blockReason") and 0 not in self._finished:
            self._finished.add(0)
            chunks.append(self._chunk(0, {}, "content_filter"))
        return chunks

    def finish(self) -> list[dict]:
        """A closing chunk for a stream that ended without a finishReason."""
        if self._finished or not self._started:
            return []
        self._finished.add(0)
        return [self._chunk(0, {}, "stop")]

    def usage_chunk(self) -> dict:
        """The trailing usage chunk."""
        return usage_chunk(self.id or new_id(), self.created, self.model, self.usage)


class GeminiAdapter:
    """Calls generativelanguage.googleapis.com with an x-goog-api-key."""

    wire = "gemini"

    def model_url(self, dep: Deployment, method: str) -> str:
        """The URL of one model method, e.g. generateContent."""
        base = dep.base_url.rstrip("/")
        if not base.endswith(("/v1beta", "/v1")):
            base += "/v1beta"
        return f"{base}/models/{dep.model.removeprefix('models/')}:{method}"

    def headers(self, dep: Deployment) -> dict[str, str]:
        """Auth and content headers."""
        return {
            "content-type": "application/json",
            "accept": "application/json",
            "x-goog-api-key": dep.api_key,
        }

    async def chat(self, client: HTTPClient, dep: Deployment, body: dict) -> tuple[dict, Usage]:
        """One OpenAI-format chat completion served by a Gemini model."""
        payload = openai_to_gemini_request(body)
        data = await post_json(client, dep, self.model_url(dep, "generateContent"), self.headers(dep), payload)
        response = gemini_to_openai_response(data, dep.model)
        usage = usage_from_gemini(data.get("usageMetadata"))
        return response, usage if usage.reported else estimate_chat_usage(body, response)

    def chat_stream(self, client: HTTPClient, dep: Deployment, body: dict) -> ChatStream:
        """A streaming OpenAI-format chat completion; the upstream call happens on the first __anext__."""

        async def run(stream: ChatStream) -> AsyncIterator[dict]:
            payload = openai_to_gemini_request(body)
            url = self.model_url(dep, "streamGenerateContent") + "?alt=sse"
            resp = await open_stream(client, dep, url, self.headers(dep), payload)
            conv = GeminiChunksToOpenAI(dep.model, usage=stream.usage)
            try:
                async for ev in iter_response_sse(resp, dep):
                    try:
                        data = orjson.loads(ev.data)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(data, dict):
                        for chunk in conv.feed(data):
                            yield chunk
            finally:
                await resp.aclose()
            for chunk in conv.finish():
                yield chunk
            stream.finalize()
            yield conv.usage_chunk()

        return ChatStream(run, model=dep.model, prompt_estimate=estimate_prompt_tokens(body))

    async def embeddings(self, client: HTTPClient, dep: Deployment, body: dict) -> tuple[dict, Usage]:
        """OpenAI embeddings via batchEmbedContents; Gemini reports no usage, so tokens are estimated."""
        texts = embedding_inputs(body)
        model = "models/" + dep.model.removeprefix("models/")
        requests = []
        for text in texts:
            item: dict[str, Any] = {"model": model, "content": {"parts": [{"text": text}]}}
            if body.get("dimensions"):
                item["outputDimensionality"] = body["dimensions"]
            requests.append(item)
        url = self.model_url(dep, "batchEmbedContents")
        data = await post_json(client, dep, url, self.headers(dep), {"requests": requests})
        vectors = [e.get("values") or [] for e in data.get("embeddings") or []]
        tokens = sum(estimate_tokens(t) for t in texts)
        response = openai_embeddings_response(vectors, dep.model, body.get("encoding_format"), tokens)
        return response, Usage(input_tokens=tokens, reported=False)
