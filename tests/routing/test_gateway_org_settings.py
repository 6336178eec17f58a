"""An organization's own provider keys and negotiated prices, as the gateway applies them."""

from __future__ import annotations

from decimal import Decimal

import httpx

from billing.models import UsageRecord
from routing.gateway.auth import principal_cache
from routing.models import CatalogModel, Provider
from routing.services import org_model_price_set, provider_credential_set

MSG = [{"role": "user", "content": "hello there"}]


def chat(gateway, model="openai/gpt-4o-mini"):
    resp = httpx.post(
        gateway.v1 + "/chat/completions",
        json={"model": model, "messages": MSG},
        headers={"Authorization": f"Bearer {gateway.key}"},
        timeout=20,
    )
    assert resp.status_code == 200, resp.text
    return resp


def test_org_key_wins_over_the_deployment_key(gateway, owner):
    chat(gateway)
    assert gateway.fakes.requests[-1][1]["authorization"] == "Bearer sk-test-openai"
    provider_credential_set(
        org=gateway.org,
        actor=owner,
        provider=Provider.objects.get(slug="openai"),
        api_key="sk-org-own-key-1234",
        base_url=gateway.fakes.url + "/openai/v1",
    )
    principal_cache.clear()  # otherwise within GATEWAY_AUTH_CACHE_SECONDS
    chat(gateway)
    assert gateway.fakes.requests[-1][1]["authorization"] == "Bearer sk-org-own-key-1234"


def test_org_key_makes_an_unconfigured_provider_usable(gateway, owner, settings):
    settings.PROVIDER_ENV["MISTRAL"] = {"api_key": "", "base_url": "", "api_version": ""}
    try:
        resp = httpx.post(
            gateway.v1 + "/chat/completions",
            json={"model": "mistral/mistral-small-latest", "messages": MSG},
            headers={"Authorization": f"Bearer {gateway.key}"},
        )
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "provider_not_configured"
        models = httpx.get(gateway.v1 + "/models", headers={"Authorization": f"Bearer {gateway.key}"}).json()
        assert "mistral/mistral-small-latest" not in [m["id"] for m in models["data"]]
        provider_credential_set(
            org=gateway.org,
            actor=owner,
            provider=Provider.objects.get(slug="mistral"),
            api_key="mistral-own",
            base_url=gateway.fakes.url + "/openai/v1",
        )
        principal_cache.clear()
        assert chat(gateway, "mistral/mistral-small-latest").headers["x-requesty-provider"] == "mistral"
    finally:
        settings.PROVIDER_ENV["MISTRAL"] = {
            "api_key": "sk-test-mistral",
            "base_url": gateway.fakes.url + "/openai/v1",
            "api_version": "",
        }


def test_negotiated_price_is_what_the_request_costs(gateway, owner):
    list_price = chat(gateway).json()["usage"]
    org_model_price_set(
        org=gateway.org,
        actor=owner,
        model=CatalogModel.objects.get(id="openai/gpt-4o-mini"),
        input_price=Decimal("0.1"),
        output_price=Decimal("0.2"),
        cache_read_price=Decimal("0"),
        cache_write_price=Decimal("0"),
    )
    principal_cache.clear()
    resp = chat(gateway)
    usage = resp.json()["usage"]
    assert usage["prompt_tokens"] == list_price["prompt_tokens"]
    expected = (
        Decimal(usage["prompt_tokens"]) * Decimal("0.1") + Decimal(usage["completion_tokens"]) * Decimal("0.2")
    ) / 1_000_000
    assert Decimal(str(usage["cost"])) == expected < Decimal(str(list_price["cost"]))
    gateway.drain()
    assert UsageRecord.objects.get(request_id=resp.headers["x-request-id"]).cost == expected
    models = httpx.get(gateway.v1 + "/models/openai/gpt-4o-mini", headers={"Authorization": f"Bearer {gateway.key}"})
    assert models.json()["pricing"]["input"] == "0.1"


def test_another_orgs_key_and_price_never_apply(gateway, outsider, other_org):
    model = CatalogModel.objects.get(id="openai/gpt-4o-mini")
    provider_credential_set(
        org=other_org,
        actor=outsider,
        provider=Provider.objects.get(slug="openai"),
        api_key="sk-globex-secret",
        base_url=gateway.fakes.url + "/openai/v1",
    )
    org_model_price_set(
        org=other_org,
        actor=outsider,
        model=model,
        input_price=Decimal("0"),
        output_price=Decimal("0"),
        cache_read_price=Decimal("0"),
        cache_write_price=Decimal("0"),
    )
    principal_cache.clear()
    resp = chat(gateway)
    assert gateway.fakes.requests[-1][1]["authorization"] == "Bearer sk-test-openai"
    assert Decimal(str(resp.json()["usage"]["cost"])) > 0


def test_count_tokens_uses_the_org_key(gateway, owner):
    provider_credential_set(
        org=gateway.org,
        actor=owner,
        provider=Provider.objects.get(slug="anthropic"),
        api_key="sk-ant-org-own",
        base_url=gateway.fakes.url + "/anthropic",
    )
    principal_cache.clear()
    resp = httpx.post(
        gateway.v1 + "/messages/count_tokens",
        headers={"x-api-key": gateway.key},
        json={"model": "anthropic/claude-sonnet-4-5", "messages": MSG},
    )
    assert resp.status_code == 200 and resp.json()["input_tokens"] > 0
    assert gateway.fakes.requests[-1][1]["x-api-key"] == "sk-ant-org-own"
    gateway.drain()
    assert not UsageRecord.objects.filter(endpoint="count_tokens").exists()
