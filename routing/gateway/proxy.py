"""The hot path of one /v1 request: parse, authenticate, resolve, call, price and record."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from billing.ledger import usage_emit
from routing.gateway.auth import Principal, principal_cache
from routing.gateway.catalog import Catalog, ModelEntry, catalog_cache
from routing.gateway.errors import GatewayError
from routing.gateway.pricing import cost_of
from routing.models import ModelMode, Wire
from routing.providers import anthropic as anth
from routing.providers import get_adapter
from routing.providers.base import SSE_DONE, Deployment, ProviderError, Usage, sse_data, sse_event

log = logging.getLogger(__name__)

MAX_TAGS = 20
_client: aiohttp.ClientSession | None = None
_client_loop: asyncio.AbstractEventLoop | None = None


def http_client() -> aiohttp.ClientSession:
    """The one pooled upstream client of this process (one per event loop)."""
    global _client, _client_loop
    loop = asyncio.get_running_loop()
    if _client is None or _client_loop is not loop or _client.closed:
        connector = aiohttp.TCPConnector(limit=1000, limit_per_host=0, keepalive_timeout=60, ttl_dns_cache=300)
        # No cookies, no env proxies, no automatic decompression surprises: a plain pooled client.
        _client = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=True, trust_env=False
        )
        _client_loop = loop
    return _client


async def http_client_close() -> None:
    """Close the pooled upstream client (server shutdown)."""
    global _client
    if _client is not None and not _client.closed:
        await _client.close()
    _client = None


def decimal_json(value: Decimal) -> orjson.Fragment:
    """An exact decimal as a JSON number (never through a float)."""
    return orjson.Fragment(format(value, "f").encode())


@dataclass(slots=True)
class Meta:
    """Caller-supplied request metadata: recorded on the usage row, never forwarded upstream."""

    end_user: str = ""
    trace_id: str = ""
    tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Call:
    """One /v1 request in flight, and everything its usage record needs."""

    endpoint: str
    request_id: str = field(default_factory=lambda: "req_" + uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)
    principal: Principal | None = None
    model_requested: str = ""
    entry: ModelEntry | None = None
    deployment: Deployment | None = None
    meta: Meta = field(default_factory=Meta)
    streamed: bool = False
    attempts: int = 0
    ttft_ms: int | None = None
    status: str = "success"
    http_status: int = 200
    error_type: str = ""
    error_message: str = ""
    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal("0")
    billable: bool = True
    recorded: bool = False

    def fail(self, exc: GatewayError) -> None:
        self.status, self.http_status = "error", exc.status
        self.error_type, self.error_message = exc.type, exc.message[:500]

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def price(self) -> Decimal:
        """Price the usage with the org's negotiated price if any, else the catalog's."""
        if self.entry is None or self.principal is None:
            return Decimal("0")
        prices = self.principal.price_overrides.get(self.entry.id, self.entry.prices)
        self.cost = cost_of(self.usage, prices)
        return self.cost

    def event(self) -> dict:
        p = self.principal
        return {
            "request_id": self.request_id,
            "org": p.org_id if p else None,
            "team": p.team_id if p else None,
            "user": p.user_id if p else None,
            "api_key": p.key_id if p else None,
            "endpoint": self.endpoint,
            "model_requested": self.model_requested[:200],
            "model_used": self.entry.id if self.entry is not None and self.attempts else "",
            "provider": self.deployment.provider if self.deployment else "",
            "status": self.status,
            "http_status": self.http_status,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cache_read_tokens": self.usage.cache_read_tokens,
            "cache_write_tokens": self.usage.cache_write_tokens,
            "reasoning_tokens": self.usage.reasoning_tokens,
            "usage_reported": self.usage.reported or self.status == "error",
            "cost": format(self.cost, "f"),
            "latency_ms": self.elapsed_ms(),
            "ttft_ms": self.ttft_ms,
            "streamed": self.streamed,
            "attempts": max(self.attempts, 1),
            "end_user": self.meta.end_user,
            "trace_id": self.meta.trace_id,
            "tags": self.meta.tags,
            "metadata": self.meta.extra,
            "created_at": timezone.now().isoformat(),
        }

    async def record(self) -> None:
        """Append the usage event once (billable calls of authenticated callers); never raises."""
        if self.recorded or self.principal is None or not self.billable:
            return
        self.recorded = True
        if self.status == "success" and not self.usage.reported:
            log.warning("request %s succeeded without reported usage; flagged", self.request_id)
        try:
            await asyncio.shield(usage_emit(self.event()))
        except Exception:
            log.exception("could not record usage for %s", self.request_id)

    def headers(self, response: HttpResponse) -> HttpResponse:
        response["x-request-id"] = self.request_id
        if self.entry is not None:
            response["x-requesty-model"] = self.entry.id
        if self.deployment is not None:
            response["x-requesty-provider"] = self.deployment.provider
        return response


# ---------------------------------------------------------------- parsing


def parse_json_body(request: HttpRequest) -> dict:
    """The request body as a JSON object, or a 400/413 naming what is wrong."""
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise GatewayError(
            400,
            f"Content-Type must be application/json, got {content_type or 'nothing'!r}.",
            code="unsupported_content_type",
        )
    limit = settings.GATEWAY_MAX_BODY_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise GatewayError(413, f"Request body is larger than the {limit}-byte limit.", code="request_too_large")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise GatewayError(
            413, f"Request body is larger than the {limit}-byte limit.", code="request_too_large"
        ) from None
    if len(raw) > limit:
        raise GatewayError(413, f"Request body is larger than the {limit}-byte limit.", code="request_too_large")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(400, f"Malformed JSON in request body: {exc}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "The request body must be a JSON object.", code="invalid_json")
    return body


def bearer_token(request: HttpRequest) -> str:
    """The API key from `Authorization: Bearer` or Anthropic's `x-api-key`."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key", "").strip()


async def authenticate(request: HttpRequest, call: Call) -> Principal:
    """Resolve the caller's key to a principal, or a 401."""
    token = bearer_token(request)
    if not token:
        raise GatewayError(
            401,
            "Missing API key: send 'Authorization: Bearer rqk_...'.",
            type="authentication_error",
            code="missing_api_key",
        )
    principal = await principal_cache.get(token)
    if principal is None:
        raise GatewayError(
            401, "Invalid, revoked or expired API key.", type="authentication_error", code="invalid_api_key"
        )
    call.principal = principal
    return principal


def require(body: dict, name: str, kind: type | tuple[type, ...], what: str) -> Any:
    """A required body field of the right JSON type, or a 400 naming it."""
    value = body.get(name)
    if value is None:
        raise GatewayError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    if not isinstance(value, kind) or (isinstance(value, (str, list)) and not value):
        raise GatewayError(400, f"Invalid '{name}': expected {what}.", param=name, code="invalid_type")
    return value


def request_metadata(request: HttpRequest, body: dict) -> Meta:
    """Pop our `requesty` object from the body and read `X-Requesty-*` headers."""
    raw = body.pop("requesty", None)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise GatewayError(400, "Invalid 'requesty': expected an object.", param="requesty")
    meta = Meta()
    headers = request.headers
    meta.end_user = str(raw.get("user_id") or headers.get("X-Requesty-User-Id") or "")[:200]
    meta.trace_id = str(raw.get("trace_id") or headers.get("X-Requesty-Trace-Id") or "")[:200]
    tags = raw.get("tags")
    if tags is None:
        header_tags = headers.get("X-Requesty-Tags", "")
        tags = [t.strip() for t in header_tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags) or len(tags) > MAX_TAGS:
        raise GatewayError(400, f"Invalid 'requesty.tags': expected up to {MAX_TAGS} strings.", param="requesty.tags")
    meta.tags = [t[:100] for t in tags]
    extra = raw.get("extra") or {}
    if not isinstance(extra, dict):
        raise GatewayError(400, "Invalid 'requesty.extra': expected an object.", param="requesty.extra")
    for key, value in headers.items():
        lower = key.lower()
        if lower.startswith("x-requesty-") and lower not in {
            "x-requesty-user-id",
            "x-requesty-trace-id",
            "x-requesty-tags",
        }:
            extra.setdefault(lower.removeprefix("x-requesty-"), value)
    if len(orjson.dumps(extra)) > 8192:
        raise GatewayError(400, "Invalid 'requesty.extra': larger than 8 KB.", param="requesty.extra")
    meta.extra = extra
    return meta


# ---------------------------------------------------------------- routing


def deployment_for(entry: ModelEntry, principal: Principal | None) -> Deployment | None:
    """Where this model is served for this caller: the org's own key first, then the deployment's."""
    provider = entry.provider
    timeout = settings.GATEWAY_UPSTREAM_TIMEOUT
    if provider.wire == Wire.DEMO:
        return Deployment(provider=provider.slug, wire=provider.wire, model=entry.name, base_url="", timeout=timeout)
    env = settings.PROVIDER_ENV.get(provider.env_prefix, {})
    own = principal.credentials.get(provider.slug) if principal else None
    api_key = own.api_key if own else env.get("api_key", "")
    base_url = (own.base_url if own else "") or env.get("base_url", "") or provider.base_url
    api_version = (own.api_version if own else "") or env.get("api_version", "")
    if provider.open_catalog:
        if not (own or env.get("base_url")):
            return None
    elif not api_key or not base_url:
        return None
    return Deployment(
        provider=provider.slug,
        wire=provider.wire,
        model=entry.name,
        base_url=base_url,
        api_key=api_key,
        api_version=api_version,
        timeout=timeout,
    )


async def route_candidates(call: Call, model: str, mode: str) -> list[tuple[ModelEntry, Deployment]]:
    """The ordered deployments that may serve this model for this caller."""
    catalog: Catalog = await catalog_cache.get()
    entry = catalog.resolve(model)
    if entry is None:
        raise GatewayError(
            404,
            f"The model '{model}' does not exist. Use provider/model ids; GET /v1/models "
            "lists the models this key may use.",
            param="model",
            code="model_not_found",
        )
    call.entry = entry
    if entry.mode != mode:
        kind = "an embedding" if entry.mode == ModelMode.EMBEDDING else "a chat"
        raise GatewayError(
            400, f"'{model}' is {kind} model and cannot serve this endpoint.", param="model", code="model_not_supported"
        )
    deployment = deployment_for(entry, call.principal)
    if deployment is None:
        raise GatewayError(
            400,
            f"Provider '{entry.provider.slug}' is not configured: set "
            f"{entry.provider.env_prefix}_API_KEY or add your own key in the console.",
            param="model",
            code="provider_not_configured",
        )
    return [(entry, deployment)]


async def with_fallback(call: Call, candidates: list[tuple[ModelEntry, Deployment]], attempt):
    """Try each candidate in order until one succeeds; only retryable failures move on."""
    last: ProviderError | None = None
    for entry, deployment in candidates:
        call.entry, call.deployment = entry, deployment
        call.attempts += 1
        try:
            return await attempt(deployment)
        except ProviderError as exc:
            last = exc
            if not exc.retryable:
                break
    assert last is not None
    raise GatewayError.from_provider(last)


# ---------------------------------------------------------------- responses


def json_response(call: Call, payload: dict) -> HttpResponse:
    return call.headers(HttpResponse(orjson.dumps(payload), content_type="application/json"))


def with_cost(usage_obj: dict | None, cost: Decimal) -> dict:
    out = dict(usage_obj or {})
    out["cost"] = decimal_json(cost)  # USD
    return out


def streaming_response(call: Call, chunks: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return call.headers(response)


async def chat_completion(call: Call, body: dict) -> HttpResponse:
    """POST /v1/chat/completions, streaming or not."""
    candidates = await route_candidates(call, call.model_requested, ModelMode.CHAT)
    client = http_client()
    if body.get("stream"):
        stream_options = body.get("stream_options") or {}
        if not isinstance(stream_options, dict):
            raise GatewayError(400, "Invalid 'stream_options': expected an object.", param="stream_options")
        include_usage = bool(stream_options.get("include_usage"))
        call.streamed = True

        async def open_stream(dep: Deployment):
            stream = get_adapter(dep.wire).chat_stream(client, dep, body)
            try:
                first = await stream.__anext__()
            except StopAsyncIteration:
                first = None
            return stream, first

        stream, first = await with_fallback(call, candidates, open_stream)
        return streaming_response(call, _openai_sse(call, stream, first, include_usage))

    async def once(dep: Deployment):
        return await get_adapter(dep.wire).chat(client, dep, body)

    payload, usage = await with_fallback(call, candidates, once)
    call.usage = usage
    payload["usage"] = with_cost(payload.get("usage"), call.price())
    await call.record()
    return json_response(call, payload)


async def _openai_sse(call: Call, stream, first: dict | None, include_usage: bool) -> AsyncIterator[bytes]:
    """Relay OpenAI chunks; the trailing usage chunk gets the cost and is sent only if asked for."""
    try:
        chunk = first
        while chunk is not None:
            if chunk.get("usage") is not None and not chunk.get("choices"):
                call.usage = stream.usage
                chunk["usage"] = with_cost(chunk["usage"], call.price())
                if include_usage:
                    yield sse_data(chunk)
            else:
                if call.ttft_ms is None:
                    call.ttft_ms = call.elapsed_ms()
                if not include_usage:
                    chunk.pop("usage", None)
                yield sse_data(chunk)
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                chunk = None
        yield SSE_DONE
    except ProviderError as exc:
        # Bytes are already out, so no fallback: report in-band, as OpenAI does.
        err = GatewayError.from_provider(exc)
        call.fail(err)
        yield sse_data(err.body())
        yield SSE_DONE
    except (asyncio.CancelledError, GeneratorExit):
        call.status, call.http_status = "cancelled", 499
        raise
    finally:
        await _settle_stream(call, stream)


async def _settle_stream(call: Call, stream) -> None:
    try:
        await asyncio.shield(stream.aclose())
    except Exception:
        log.debug("closing upstream stream failed", exc_info=True)
    call.usage = stream.usage
    call.price()
    await call.record()


async def messages(call: Call, body: dict, extra_headers: dict[str, str]) -> HttpResponse:
    """POST /v1/messages: Anthropic's API, native to Anthropic models and translated for the rest."""
    candidates = await route_candidates(call, call.model_requested, ModelMode.CHAT)
    client = http_client()
    native = get_adapter(Wire.ANTHROPIC)
    streaming = bool(body.get("stream"))
    call.streamed = streaming

    if streaming:

        async def open_events(dep: Deployment):
            if dep.wire == Wire.ANTHROPIC:
                stream = native.messages_stream(client, dep, body, extra_headers=extra_headers)
                translate = None
            else:
                openai_body = anth.anthropic_to_openai_request(body)
                openai_body["stream"] = True
                stream = get_adapter(dep.wire).chat_stream(client, dep, openai_body)
                translate = anth.OpenAIChunksToAnthropicEvents(dep.model, usage=stream.usage)
            try:
                first = await stream.__anext__()
            except StopAsyncIteration:
                first = None
            return stream, first, translate

        stream, first, translate = await with_fallback(call, candidates, open_events)
        return streaming_response(call, _anthropic_sse(call, stream, first, translate))

    async def once(dep: Deployment):
        if dep.wire == Wire.ANTHROPIC:
            return await native.messages(client, dep, body, extra_headers=extra_headers)
        resp, usage = await get_adapter(dep.wire).chat(client, dep, anth.anthropic_to_openai_request(body))
        return anth.openai_to_anthropic_response(resp, dep.model), usage

    payload, usage = await with_fallback(call, candidates, once)
    call.usage = usage
    payload["usage"] = with_cost(payload.get("usage"), call.price())
    await call.record()
    return json_response(call, payload)


async def _anthropic_sse(call: Call, stream, first, translate) -> AsyncIterator[bytes]:
    """Relay Anthropic events (native or translated from OpenAI chunks); message_delta carries the cost."""

    def events_of(item) -> list[tuple[str, dict]]:
        return translate.feed(item) if translate is not None else [item]

    def encode(name: str, data: dict) -> bytes:
        if name == "message_delta":
            call.usage = stream.usage
            data["usage"] = with_cost(data.get("usage"), call.price())
        return sse_event(name, data)

    try:
        item = first
        while item is not None:
            for name, data in events_of(item):
                if call.ttft_ms is None and name == "content_block_delta":
                    call.ttft_ms = call.elapsed_ms()
                yield encode(name, data)
            try:
                item = await stream.__anext__()
            except StopAsyncIteration:
                item = None
        if translate is not None:
            for name, data in translate.finish():
                yield encode(name, data)
    except ProviderError as exc:
        err = GatewayError.from_provider(exc)
        call.fail(err)
        yield sse_event("error", err.body(anthropic=True))
    except (asyncio.CancelledError, GeneratorExit):
        call.status, call.http_status = "cancelled", 499
        raise
    finally:
        await _settle_stream(call, stream)


async def count_tokens(call: Call, body: dict, extra_headers: dict[str, str]) -> HttpResponse:
    """POST /v1/messages/count_tokens: Anthropic's counter for its models, an estimate for the rest."""
    candidates = await route_candidates(call, call.model_requested, ModelMode.CHAT)
    entry, dep = candidates[0]
    if dep.wire == Wire.ANTHROPIC:
        try:
            payload = await get_adapter(Wire.ANTHROPIC).count_tokens(
                http_client(), dep, body, extra_headers=extra_headers
            )
        except ProviderError as exc:
            raise GatewayError.from_provider(exc) from None
    else:
        payload = {"input_tokens": anth.anthropic_prompt_estimate(body), "estimated": True}
    return json_response(call, payload)


async def embeddings(call: Call, body: dict) -> HttpResponse:
    """POST /v1/embeddings."""
    candidates = await route_candidates(call, call.model_requested, ModelMode.EMBEDDING)
    client = http_client()

    async def once(dep: Deployment):
        return await get_adapter(dep.wire).embeddings(client, dep, body)

    payload, usage = await with_fallback(call, candidates, once)
    call.usage = usage
    payload["usage"] = with_cost(payload.get("usage"), call.price())
    payload["model"] = call.entry.id if call.entry else payload.get("model")
    await call.record()
    return json_response(call, payload)


# ---------------------------------------------------------------- models


def model_card(entry: ModelEntry, principal: Principal) -> dict:
    """One model as /v1/models lists it: OpenAI's fields plus pricing, context and capabilities."""
    prices = principal.price_overrides.get(entry.id, entry.prices)
    return {
        "id": entry.id,
        "object": "model",
        "type": "model",
        "created": 0,
        "owned_by": entry.provider.slug,
        "display_name": entry.display_name,
        "demo": entry.provider.is_demo,
        "provider": entry.provider.name,
        "mode": entry.mode,
        "pricing": {"currency": "USD", "unit": "per_million_tokens", **prices.as_dict()},
        "context_window": entry.context_window,
        "max_output_tokens": entry.max_output_tokens,
        "capabilities": {
            "tools": entry.supports_tools,
            "vision": entry.supports_vision,
            "json": entry.supports_json,
            "streaming": entry.supports_streaming,
        },
    }


async def models_available(principal: Principal) -> list[ModelEntry]:
    """The models this key may use: every enabled model whose provider is configured for its org."""
    catalog = await catalog_cache.get()
    usable: dict[str, bool] = {}
    out = []
    for entry in catalog.models.values():
        slug = entry.provider.slug
        if slug not in usable:
            usable[slug] = deployment_for(entry, principal) is not None
        if usable[slug]:
            out.append(entry)
    return out
