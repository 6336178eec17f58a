"""From a key made in the console to the request it paid for, through the real ASGI application."""

from __future__ import annotations

from decimal import Decimal

import openai
import pytest
import redis as redis_lib
from django.conf import settings
from playwright.sync_api import expect

from billing.models import UsageRecord
from billing.services import usage_drain
from orgs.services import org_create
from routing.gateway.catalog import catalog_cache
from routing.services import catalog_sync
from tests.factories import PASSWORD, UserFactory
from tests.gateway_server import ThreadedServer


@pytest.fixture(scope="module")
def asgi_server():
    """requesty.asgi:application (console and /v1 together) on a live port."""
    from requesty.asgi import application

    server = ThreadedServer(application).start()
    yield server
    server.stop()


@pytest.mark.browser
def test_key_to_request_to_usage(browser, asgi_server, transactional_db):
    redis_lib.Redis.from_url(settings.REDIS_URL).flushdb()
    catalog_sync(only={"demo/echo", "demo/embed", "openai/gpt-4o-mini"})
    catalog_cache.clear()
    owner = UserFactory(email="lead@gateway.test")
    org_create(name="Gateway Labs", owner=owner)
    context = browser.new_context(base_url=asgi_server.url, viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The demo provider is labelled as such, and needs no key.
    page.locator(".sidebar").get_by_role("link", name="Providers").click()
    expect(page.locator("tr", has_text="Demo")).to_contain_text("no key needed")

    page.locator(".sidebar").get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="New API key").click()
    page.get_by_label("Name").fill("notebook")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key").input_value()

    # The official SDK, pointed at the same server.
    client = openai.OpenAI(base_url=asgi_server.url + "/v1", api_key=secret, max_retries=0)
    completion = client.chat.completions.create(
        model="demo/echo", messages=[{"role": "user", "content": "ship it"}], extra_body={"requesty": {"tags": ["e2e"]}}
    )
    assert "ship it" in completion.choices[0].message.content
    cost = Decimal(str(completion.usage.model_extra["cost"]))
    assert usage_drain(claim_idle_ms=0) == 1
    assert UsageRecord.objects.get().cost == cost

    page.locator(".sidebar").get_by_role("link", name="Usage").click()
    row = page.locator("#usage-table tbody tr").first
    expect(row).to_contain_text("demo/echo")
    expect(row).to_contain_text("notebook")
    expect(page.locator("#usage-summary")).to_contain_text("1")
    page.screenshot(path="/tmp/console-usage.png", full_page=True)
    context.close()
