"""The model catalog: seeded from genai-prices, and resolved from the ids clients send."""

from __future__ import annotations

from decimal import Decimal

import pytest

from routing.gateway.catalog import catalog_load
from routing.models import CatalogModel, ModelMode, Provider
from routing.services import catalog_sync


def test_full_sync_seeds_hundreds_of_priced_models(db):
    counts = catalog_sync()
    assert counts["providers"] == 14 and counts["created"] > 1000
    assert catalog_sync()["created"] == 0  # idempotent
    mini = CatalogModel.objects.get(id="openai/gpt-4o-mini")
    assert (mini.input_price, mini.output_price, mini.cache_read_price) == (
        Decimal("0.15"),
        Decimal("0.6"),
        Decimal("0.075"),
    )
    sonnet = CatalogModel.objects.get(id="anthropic/claude-sonnet-4-5")
    assert sonnet.cache_write_price == Decimal("3.75") and sonnet.price_tiers[0]["above"] == 200000
    assert CatalogModel.objects.get(id="openai/text-embedding-3-small").mode == ModelMode.EMBEDDING
    # Azure serves OpenAI's models; our Google provider is the Gemini API, not Vertex's Claude.
    assert CatalogModel.objects.filter(id="azure/gpt-4o-mini").exists()
    assert not CatalogModel.objects.filter(provider_id="google", name__startswith="claude").exists()
    assert Provider.objects.get(slug="demo").is_demo and Provider.objects.get(slug="ollama").open_catalog


def test_sync_keeps_hand_edited_prices_unless_asked(db):
    catalog_sync(only={"openai/gpt-4o-mini"})
    CatalogModel.objects.filter(id="openai/gpt-4o-mini").update(input_price=Decimal("9"))
    catalog_sync(only={"openai/gpt-4o-mini"})
    assert CatalogModel.objects.get(id="openai/gpt-4o-mini").input_price == Decimal("9")
    catalog_sync(only={"openai/gpt-4o-mini"}, update_prices=True)
    assert CatalogModel.objects.get(id="openai/gpt-4o-mini").input_price == Decimal("0.15")


@pytest.mark.parametrize(
    "requested,resolved,name",
    [
        ("openai/gpt-4o-mini", "openai/gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-mini", "openai/gpt-4o-mini", "gpt-4o-mini"),  # a bare name: the first provider listing it
        ("anthropic/claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
        ("ollama/llama3.1:8b", "ollama/llama3.1:8b", "llama3.1:8b"),  # self-hosted: any model, free
        ("openai/gpt-imaginary", None, None),
        ("nope/gpt-4o-mini", None, None),
        ("anthropic/", None, None),
    ],
)
def test_resolve(db, requested, resolved, name):
    catalog_sync(only={"openai/gpt-4o-mini", "azure/gpt-4o-mini", "anthropic/claude-sonnet-4-5"})
    entry = catalog_load().resolve(requested)
    if resolved is None:
        assert entry is None
        return
    assert (entry.id, entry.name) == (resolved, name)
    if requested.startswith("anthropic/"):
        assert entry.prices.input == Decimal("3")  # a dated snapshot is priced as its family
    if requested.startswith("ollama/"):
        assert entry.prices.input == 0 and entry.provider.open_catalog
