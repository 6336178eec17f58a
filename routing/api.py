"""The /v1 gateway endpoints: thin async views over routing.gateway.proxy.

These are plain async Django views rather than DRF views: DRF has no native async support, and its
request wrapping, negotiation and renderers cost more than the whole 2 ms overhead budget.
"""

from __future__ import annotations

import asyncio
import functools
import logging

import orjson
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from routing.gateway import proxy
from routing.gateway.errors import GatewayError

log = logging.getLogger(__name__)

# Anthropic request headers forwarded upstream on native pass-through.
ANTHROPIC_FORWARD = ("anthropic-beta",)


def gateway_view(endpoint: str, *, method: str | None = "POST", anthropic: bool = False):
    """Wrap a /v1 view: method check, error shape, and a usage record for every authenticated call."""

    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            call = proxy.Call(endpoint=endpoint)
            try:
                if method is not None and request.method != method:
                    raise GatewayError(
                        405,
                        f"Method {request.method} not allowed; use {method}.",
                        code="method_not_allowed",
                        headers={"Allow": method},
                    )
                return await view(request, call, *args, **kwargs)
            except GatewayError as exc:
                call.fail(exc)
                await call.record()
                return call.headers(exc.response(anthropic=anthropic))
            except asyncio.CancelledError:
                call.status, call.http_status = "cancelled", 499
                await call.record()
                raise
            except Exception:
                log.exception("unhandled error in /v1/%s (request %s)", endpoint, call.request_id)
                exc = GatewayError(
                    500,
                    "The gateway hit an internal error; the request id identifies it.",
                    type="api_error",
                    code="internal_error",
                )
                call.fail(exc)
                await call.record()
                return call.headers(exc.response(anthropic=anthropic))

        return wrapper

    return decorator


async def _prepare(request: HttpRequest, call: proxy.Call) -> dict:
    """Authenticate, parse the body and take the request metadata off it."""
    await proxy.authenticate(request, call)
    body = proxy.parse_json_body(request)
    call.meta = proxy.request_metadata(request, body)
    return body


@gateway_view("chat")
async def chat_completions(request: HttpRequest, call: proxy.Call) -> HttpResponse:
    """OpenAI's Chat Completions API."""
    body = await _prepare(request, call)
    call.model_requested = proxy.require(body, "model", str, "a model id string")
    proxy.require(body, "messages", list, "a non-empty array of messages")
    return await proxy.chat_completion(call, body)


@gateway_view("messages", anthropic=True)
async def messages(request: HttpRequest, call: proxy.Call) -> HttpResponse:
    """Anthropic's Messages API."""
    body = await _prepare(request, call)
    call.model_requested = proxy.require(body, "model", str, "a model id string")
    proxy.require(body, "messages", list, "a non-empty array of messages")
    proxy.require(body, "max_tokens", int, "a positive integer")
    forward = {h: request.headers[h] for h in ANTHROPIC_FORWARD if h in request.headers}
    return await proxy.messages(call, body, forward)


@gateway_view("count_tokens", anthropic=True)
async def count_tokens(request: HttpRequest, call: proxy.Call) -> HttpResponse:
    """Anthropic's token counting (Claude Code calls it); not billable, so no usage record."""
    body = await _prepare(request, call)
    call.billable = False
    call.model_requested = proxy.require(body, "model", str, "a model id string")
    proxy.require(body, "messages", list, "a non-empty array of messages")
    forward = {h: request.headers[h] for h in ANTHROPIC_FORWARD if h in request.headers}
    return await proxy.count_tokens(call, body, forward)


@gateway_view("embeddings")
async def embeddings(request: HttpRequest, call: proxy.Call) -> HttpResponse:
    """OpenAI's Embeddings API."""
    body = await _prepare(request, call)
    call.model_requested = proxy.require(body, "model", str, "a model id string")
    proxy.require(body, "input", (str, list), "a string or an array of strings or token arrays")
    return await proxy.embeddings(call, body)


@gateway_view("models", method="GET")
async def models_list(request: HttpRequest, call: proxy.Call) -> HttpResponse:
    """The models this key may use, with pricing, context window and capabilities."""
    principal = await proxy.authenticate(request, call)
    call.billable = False  # listing models is not usage
    entries = await proxy.models_available(principal)
    data = [proxy.model_card(e, principal) for e in sorted(entries, key=lambda e: e.id)]
    body = {
        "object": "list",
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
    return call.headers(HttpResponse(orjson.dumps(body), content_type="application/json"))


@gateway_view("models", method="GET")
async def model_detail(request: HttpRequest, call: proxy.Call, model_id: str) -> HttpResponse:
    """One model, if this key may use it."""
    principal = await proxy.authenticate(request, call)
    call.billable = False
    for entry in await proxy.models_available(principal):
        if entry.id == model_id:
            return call.headers(
                HttpResponse(orjson.dumps(proxy.model_card(entry, principal)), content_type="application/json")
            )
    raise GatewayError(
        404,
        f"The model '{model_id}' does not exist or is not available to this key.",
        param="model",
        code="model_not_found",
    )


@gateway_view("unknown", method=None)
async def not_found(request: HttpRequest, call: proxy.Call, rest: str = "") -> HttpResponse:
    """Anything else under /v1 is an OpenAI-shaped 404, never an HTML page."""
    raise GatewayError(404, f"Unknown endpoint: {request.method} {request.path}.", code="unknown_url")
