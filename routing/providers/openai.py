"""OpenAI Chat Completions pass-through, also serving the OpenAI-compatible family."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from .base import (
    ChatStream,
    Deployment,
    HTTPClient,
    ProviderError,
    Usage,
    estimate_chat_usage,
    estimate_prompt_tokens,
    iter_response_sse,
    now,
    open_stream,
    post_json,
    usage_chunk,
    usage_from_openai,
)


def _chunk_usage(chunk: dict) -> dict | None:
    """The usage object a chunk carries, if any (Groq once nested it under x_groq)."""
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        return usage
    x_groq = chunk.get("x_groq")
    if isinstance(x_groq, dict) and isinstance(x_groq.get("usage"), dict):
        return x_groq["usage"]
    return None


class OpenAIAdapter:
    """Speaks OpenAI's /chat/completions and /embeddings with a Bearer key."""

    wire = "openai"

    def chat_url(self, dep: Deployment) -> str:
        """Where chat completions are posted."""
        return dep.url("chat/completions")

    def embeddings_url(self, dep: Deployment) -> str:
        """Where embeddings are posted."""
        return dep.url("embeddings")

    def headers(self, dep: Deployment) -> dict[str, str]:
        """Auth and content headers for one deployment."""
        headers = {"content-type": "application/json", "accept": "application/json"}
        if dep.api_key:
            # Local servers (ollama, vllm) run without a key; sending an empty Bearer upsets some of them.
            headers["authorization"] = f"Bearer {dep.api_key}"
        return headers

    def prepare(self, dep: Deployment, body: dict, *, stream: bool) -> dict:
        """The upstream request body: the client's body with our model and stream settings."""
        payload = dict(body)
        payload["model"] = dep.model
        payload.pop("stream_options", None)
        if stream:
            payload["stream"] = True
            options = dict(body.get("stream_options") or {})
            options["include_usage"] = True
            payload["stream_options"] = options
        else:
            payload.pop("stream", None)
        return payload

    async def chat(self, client: HTTPClient, dep: Deployment, body: dict) -> tuple[dict, Usage]:
        """One non-streaming chat completion."""
        data = await post_json(
            client, dep, self.chat_url(dep), self.headers(dep), self.prepare(dep, body, stream=False)
        )
        data["model"] = dep.model
        usage = usage_from_openai(data.get("usage"))
        return data, usage if usage.reported else estimate_chat_usage(body, data)

    def chat_stream(self, client: HTTPClient, dep: Deployment, body: dict) -> ChatStream:
        """A streaming chat completion; the upstream call happens on the first __anext__."""
        payload = self.prepare(dep, body, stream=True)

        async def run(stream: ChatStream) -> AsyncIterator[dict]:
            resp = await open_stream(client, dep, self.chat_url(dep), self.headers(dep), payload)
            cid, created = "", now()
            raw_usage: dict | None = None
            try:
                async for ev in iter_response_sse(resp, dep):
                    if ev.data == "[DONE]":
                        break
                    try:
                        chunk = orjson.loads(ev.data)
                    except orjson.JSONDecodeError:
                        continue
                    if not isinstance(chunk, dict):
                        continue
                    if "error" in chunk and "choices" not in chunk:
                        err = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
                        raise ProviderError(502, str(err.get("message") or "stream error"), retryable=True)
                    cid = chunk.get("id") or cid
                    created = chunk.get("created") or created
                    usage = _chunk_usage(chunk)
                    if usage is not None:
                        raw_usage = usage
                        stream.usage.update(usage_from_openai(usage))
                    if not chunk.get("choices"):
                        # The usage-only chunk is re-emitted last, after anything a provider sends late.
                        continue
                    chunk["model"] = dep.model
                    chunk.pop("usage", None)
                    chunk.pop("x_groq", None)
                    yield chunk
            finally:
                await resp.aclose()
            stream.finalize()
            yield usage_chunk(cid, created, dep.model, raw_usage if raw_usage is not None else stream.usage)

        return ChatStream(run, model=dep.model, prompt_estimate=estimate_prompt_tokens(body))

    async def embeddings(self, client: HTTPClient, dep: Deployment, body: dict) -> tuple[dict, Usage]:
        """One embeddings call."""
        payload = dict(body)
        payload["model"] = dep.model
        data = await post_json(client, dep, self.embeddings_url(dep), self.headers(dep), payload)
        data["model"] = dep.model
        return data, usage_from_openai(data.get("usage"))
