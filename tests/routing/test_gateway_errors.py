"""Bad input and faults on /v1: OpenAI's error shape, the right status, and nothing lost."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import httpx
import openai
import pytest
from django.utils import timezone

from billing.models import UsageRecord
from orgs.models import ApiKey
from orgs.services import api_key_revoke
from routing.gateway.auth import principal_cache
from tests.factories import make_key


def post(gateway, path="/v1/chat/completions", *, json=None, content=None, headers=None, key=None):
    hdrs = {"Authorization": f"Bearer {key or gateway.key}"}
    if json is not None or content is None:
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    return httpx.post(gateway.url + path, json=json, content=content, headers=hdrs, timeout=20)


def assert_error(resp, status, *, param=None, code=None, type_=None):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    err = resp.json()["error"]
    assert set(err) >= {"message", "type", "param", "code"} and err["message"]
    if param is not None:
        assert err["param"] == param
    if code is not None:
        assert err["code"] == code
    if type_ is not None:
        assert err["type"] == type_
    return err


MSG = [{"role": "user", "content": "hi"}]


def test_malformed_json(gateway):
    assert_error(
        post(
            gateway,
            content=b'{"model": "openai/gpt-4o-mini", "messages": [',
            headers={"Content-Type": "application/json"},
        ),
        400,
        code="invalid_json",
    )


@pytest.mark.parametrize(
    "body,param",
    [
        ({"messages": MSG}, "model"),
        ({"model": "openai/gpt-4o-mini"}, "messages"),
        ({"model": "openai/gpt-4o-mini", "messages": []}, "messages"),
        ({"model": 42, "messages": MSG}, "model"),
        ({"model": "openai/gpt-4o-mini", "messages": MSG, "requesty": {"tags": "not-a-list"}}, "requesty.tags"),
    ],
)
def test_missing_or_invalid_field_is_named(gateway, body, param):
    assert_error(post(gateway, json=body), 400, param=param)


def test_unknown_model(gateway):
    assert_error(
        post(gateway, json={"model": "openai/gpt-9-imaginary", "messages": MSG}),
        404,
        param="model",
        code="model_not_found",
    )
    assert_error(post(gateway, json={"model": "nosuchprovider/x", "messages": MSG}), 404, code="model_not_found")


def test_embedding_model_on_chat_is_400(gateway):
    assert_error(post(gateway, json={"model": "openai/text-embedding-3-small", "messages": MSG}), 400, param="model")


def test_body_over_limit(gateway, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 2048
    big = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 5000}]}
    assert_error(post(gateway, json=big), 413, code="request_too_large")


def test_wrong_content_type(gateway):
    resp = post(gateway, content=b"model=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(resp, 400, code="unsupported_content_type")


def test_wrong_method_and_unknown_path(gateway):
    resp = httpx.get(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway.key}"})
    assert_error(resp, 405)
    assert_error(httpx.get(gateway.url + "/v1/nothing-here"), 404)


def test_bad_revoked_and_expired_keys(gateway):
    ok = {"model": "demo/echo", "messages": MSG}
    assert_error(post(gateway, json=ok, headers={"Authorization": ""}), 401, code="missing_api_key")
    assert_error(post(gateway, json=ok, key="rqk_not-a-real-key"), 401, code="invalid_api_key")
    assert_error(post(gateway, json=ok, key="sk-something-else"), 401, code="invalid_api_key")

    assert post(gateway, json=ok).status_code == 200
    api_key_revoke(key=gateway.api_key, actor=gateway.user)
    principal_cache.clear()  # the cache window (5 s) is what a replica would wait
    assert_error(post(gateway, json=ok), 401, code="invalid_api_key")

    key, secret = make_key(
        org=gateway.org, user=gateway.user, name="short-lived", expires_at=timezone.now() + timedelta(seconds=2)
    )
    assert post(gateway, json=ok, key=secret).status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    principal_cache.clear()
    assert_error(post(gateway, json=ok, key=secret), 401)


def test_revoke_reaches_the_gateway_within_the_cache_window(gateway, settings):
    settings.GATEWAY_AUTH_CACHE_SECONDS = 0.5
    ok = {"model": "demo/echo", "messages": MSG}
    assert post(gateway, json=ok).status_code == 200
    api_key_revoke(key=gateway.api_key, actor=gateway.user)
    time.sleep(0.6)
    assert_error(post(gateway, json=ok), 401)


@pytest.mark.parametrize(
    "mode,status,type_",
    [
        ("error_400", 400, "invalid_request_error"),
        ("error_429", 429, "rate_limit_error"),
        ("error_500", 502, "provider_error"),
        ("error_401", 502, "provider_auth_error"),
    ],
)
@pytest.mark.parametrize(
    "family,model",
    [
        ("openai", "openai/gpt-4o-mini"),
        ("anthropic", "anthropic/claude-sonnet-4-5"),
        ("gemini", "google/gemini-2.5-flash"),
    ],
)
def test_provider_errors_map_and_keep_message(gateway, family, model, mode, status, type_):
    gateway.fakes.set_mode(family, mode)
    resp = post(gateway, json={"model": model, "messages": MSG})
    err = assert_error(resp, status, type_=type_)
    if mode == "error_500":
        assert "upstream exploded" in err["message"]
    if mode == "error_400":
        assert "bad param: temperature" in err["message"]
    assert "sk-" not in resp.text and "test-key" not in resp.text
    gateway.drain()
    record = UsageRecord.objects.get(request_id=resp.headers["x-request-id"])
    assert record.status == "error" and record.http_status == status and record.error_type == type_
    assert record.cost == 0


def test_provider_timeout_is_504(gateway, settings):
    settings.GATEWAY_UPSTREAM_TIMEOUT = 0.5
    gateway.fakes.set_mode("openai", "slow", delay=3)
    resp = post(gateway, json={"model": "openai/gpt-4o-mini", "messages": MSG})
    assert_error(resp, 504, type_="timeout")


def test_stream_error_before_first_byte_is_a_status(gateway):
    gateway.fakes.set_mode("anthropic", "error_500")
    client = openai.OpenAI(base_url=gateway.v1, api_key=gateway.key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as info:
        list(client.chat.completions.create(model="anthropic/claude-sonnet-4-5", messages=MSG, stream=True))
    assert info.value.status_code == 502


def test_client_disconnect_mid_stream_records_partial_usage(gateway):
    gateway.fakes.set_mode("openai", "stall_stream", delay=30)
    body = b'{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"long story"}]}'
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {gateway.key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while b"data: " not in received:
            received += sock.recv(65536)
        request_id = next(
            line.split(b":", 1)[1].strip().decode()
            for line in received.split(b"\r\n")
            if line.lower().startswith(b"x-request-id")
        )
    # The socket is closed mid-stream: the upstream call is cancelled and the record still lands.
    deadline = time.monotonic() + 10
    record = None
    while time.monotonic() < deadline and record is None:
        gateway.drain()
        record = UsageRecord.objects.filter(request_id=request_id).first()
        time.sleep(0.1)
    assert record is not None
    assert record.status == "cancelled" and record.streamed
    assert record.output_tokens >= 1 and record.input_tokens > 0
    assert record.cost > 0
    assert gateway.fakes.disconnected("openai") >= 1


def test_redis_down_still_records_usage(gateway, settings, monkeypatch):
    from billing import ledger

    monkeypatch.setattr(ledger, "_redis", None)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    resp = post(gateway, json={"model": "demo/echo", "messages": MSG})
    assert resp.status_code == 200
    monkeypatch.setattr(ledger, "_redis", None)
    assert UsageRecord.objects.filter(request_id=resp.headers["x-request-id"]).count() == 1


@pytest.mark.parametrize(
    "family,model",
    [
        ("openai", "openai/gpt-4o-mini"),
        ("anthropic", "anthropic/claude-haiku-4-5"),
        ("gemini", "google/gemini-2.5-flash"),
    ],
)
def test_success_without_reported_usage_is_flagged_not_free(gateway, family, model):
    gateway.fakes.set_mode(family, "no_usage")
    resp = post(gateway, json={"model": model, "messages": MSG})
    assert resp.status_code == 200
    gateway.drain()
    record = UsageRecord.objects.get(request_id=resp.headers["x-request-id"])
    assert record.status == "success" and record.usage_reported is False
    assert record.output_tokens > 0 and record.cost > 0  # estimated, never silently zero


def test_client_disconnect_before_response_cancels_upstream_and_records(gateway):
    gateway.fakes.set_mode("openai", "slow", delay=30)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            gateway.url + "/v1/chat/completions",
            json={"model": "openai/gpt-4o-mini", "messages": MSG},
            headers={"Authorization": f"Bearer {gateway.key}"},
            timeout=0.5,
        )
    assert gateway.fakes.disconnected("openai") >= 1
    deadline = time.monotonic() + 10
    record = None
    while time.monotonic() < deadline and record is None:
        gateway.drain()
        record = UsageRecord.objects.filter(api_key=gateway.api_key, status="cancelled").first()
        time.sleep(0.1)
    assert record is not None and record.http_status == 499 and record.cost == 0


def test_v1_root_is_an_openai_shaped_404(gateway):
    assert_error(httpx.get(gateway.url + "/v1"), 404, code="unknown_url")
