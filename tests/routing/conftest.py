"""Gateway fixtures: fake providers, a live gateway server, a seeded catalog and a key."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import redis as redis_lib
from django.conf import settings

from billing.services import usage_drain
from orgs.models import ApiKey, Organization, User
from routing.gateway.auth import principal_cache
from routing.gateway.catalog import catalog_cache
from routing.services import catalog_sync
from tests.factories import make_key
from tests.gateway_server import ThreadedServer

TEST_MODELS = {
    "openai/gpt-4o-mini",
    "openai/text-embedding-3-small",
    "anthropic/claude-sonnet-4-5",
    "anthropic/claude-haiku-4-5",
    "google/gemini-2.5-flash",
    "google/gemini-embedding-001",
    "azure/gpt-4o-mini",
    "azure/text-embedding-3-small",
    "groq/llama-3.1-8b-instant",
    "mistral/mistral-small-latest",
    "deepseek/deepseek-chat",
    "xai/grok-3",
    "together/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "fireworks/llama-v3p1-8b-instruct",
    "openrouter/openai/gpt-4o-mini",
    "demo/echo",
    "demo/embed",
}
# Every OpenAI-compatible provider points at the fake's /openai route.
OPENAI_FAMILY = (
    "OPENAI",
    "GROQ",
    "TOGETHER",
    "DEEPSEEK",
    "MISTRAL",
    "XAI",
    "FIREWORKS",
    "OPENROUTER",
    "OLLAMA",
    "VLLM",
)


@pytest.fixture(scope="session")
def fake_providers():
    from tests.fakes.providers import FakeProviders

    fakes = FakeProviders()
    fakes.start()
    yield fakes
    fakes.stop()


def _close_server_connections(django_db_blocker) -> None:
    """The server's executor threads keep database connections; end them so the test DB can be dropped."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session")
def gateway_server(fake_providers, django_db_setup, django_db_blocker):
    """The real ASGI application (slim /v1 handler included) on a live port."""
    from requesty.asgi import application

    env = settings.PROVIDER_ENV
    saved = {k: dict(v) for k, v in env.items()}
    for prefix in OPENAI_FAMILY:
        env[prefix].update(api_key=f"sk-test-{prefix.lower()}", base_url=f"{fake_providers.url}/openai/v1")
    env["ANTHROPIC"].update(api_key="sk-ant-test", base_url=f"{fake_providers.url}/anthropic")
    env["GEMINI"].update(api_key="gemini-test-key", base_url=f"{fake_providers.url}/gemini")
    env["AZURE_OPENAI"].update(
        api_key="azure-test-key", base_url=f"{fake_providers.url}/azure", api_version="2024-10-21"
    )
    server = ThreadedServer(application).start()
    yield server
    server.stop()
    _close_server_connections(django_db_blocker)
    for k, v in saved.items():
        env[k].clear()
        env[k].update(v)


@dataclass
class Gateway:
    """A live gateway with a seeded catalog and one developer's key."""

    url: str
    key: str
    api_key: ApiKey
    org: Organization
    user: User
    fakes: object

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def drain(self) -> int:
        """Move usage events from Redis into the ledger, as the Celery worker does."""
        return usage_drain(claim_idle_ms=0)


@pytest.fixture
def redis_clean():
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def gateway(transactional_db, gateway_server, fake_providers, redis_clean, org, member):
    """A seeded catalog, a gateway key for `member` of `org`, fresh caches and fake-provider modes."""
    catalog_sync(only=TEST_MODELS)
    catalog_cache.clear()
    principal_cache.clear()
    fake_providers.reset()
    api_key, secret = make_key(org=org, user=member, name="gateway test")
    yield Gateway(url=gateway_server.url, key=secret, api_key=api_key, org=org, user=member, fakes=fake_providers)
    fake_providers.reset()
