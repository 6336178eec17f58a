"""The in-process model catalog: resolving a model id to what serves it and what it costs."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection

from routing.models import CatalogModel, ModelMode, Provider, Wire

ZERO = Decimal("0")
# Which provider a bare model name ("gpt-4o-mini") means when several list it.
BARE_NAME_PRIORITY = ("openai", "anthropic", "google", "mistral", "deepseek", "xai", "groq", "demo")


def decimal_text(value: Decimal) -> str:
    """An exact decimal without trailing zeros or exponent."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per million tokens, with optional cliff tiers by total input tokens."""

    input: Decimal = ZERO
    output: Decimal = ZERO
    cache_read: Decimal = ZERO
    cache_write: Decimal = ZERO
    reasoning: Decimal | None = None
    tiers: tuple[tuple[int, dict[str, Decimal]], ...] = ()

    def for_input_size(self, prompt_tokens: int) -> Prices:
        """The prices in force for a request of this many prompt tokens."""
        chosen: dict[str, Decimal] | None = None
        for above, tier in self.tiers:
            if prompt_tokens > above:
                chosen = tier
        if not chosen:
            return self
        return Prices(
            input=chosen.get("input", self.input),
            output=chosen.get("output", self.output),
            cache_read=chosen.get("cache_read", self.cache_read),
            cache_write=chosen.get("cache_write", self.cache_write),
            reasoning=self.reasoning,
        )

    def as_dict(self) -> dict[str, str]:
        """Prices as plain decimal strings per million tokens ("0.15", never "0.150000"), for /v1/models."""
        out = {
            "input": decimal_text(self.input),
            "output": decimal_text(self.output),
            "cache_read": decimal_text(self.cache_read),
            "cache_write": decimal_text(self.cache_write),
        }
        if self.reasoning is not None:
            out["reasoning"] = decimal_text(self.reasoning)
        return out


def prices_from_tiers(base: Prices, raw_tiers: list[dict]) -> Prices:
    """Attach stored JSON tiers to a Prices."""
    tiers = tuple((int(t["above"]), {k: Decimal(v) for k, v in t.items() if k != "above"}) for t in raw_tiers or ())
    return Prices(base.input, base.output, base.cache_read, base.cache_write, base.reasoning, tiers)


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """A provider as the hot path needs it."""

    slug: str
    name: str
    wire: str
    base_url: str
    env_prefix: str
    is_demo: bool
    open_catalog: bool


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """A model as the hot path needs it."""

    id: str
    provider: ProviderEntry
    name: str
    display_name: str
    mode: str
    prices: Prices
    context_window: int | None = None
    max_output_tokens: int | None = None
    supports_tools: bool = True
    supports_vision: bool = False
    supports_json: bool = True
    supports_streaming: bool = True

    @property
    def is_chat(self) -> bool:
        return self.mode == ModelMode.CHAT


@dataclass(slots=True)
class Catalog:
    """Every enabled model, keyed by `provider/model`, plus a name index."""

    providers: dict[str, ProviderEntry] = field(default_factory=dict)
    models: dict[str, ModelEntry] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    loaded_at: float = 0.0

    def resolve(self, model: str) -> ModelEntry | None:
        """The entry a client's model string names, or None when unknown."""
        entry = self.models.get(model)
        if entry is not None:
            return entry
        if "/" not in model:
            full = self.by_name.get(model)
            return self.models.get(full) if full else None
        slug, name = model.split("/", 1)
        provider = self.providers.get(slug)
        if provider is None or not name:
            return None
        if provider.open_catalog:
            return ModelEntry(
                id=model, provider=provider, name=name, display_name=name, mode=ModelMode.CHAT, prices=Prices()
            )
        return self._match_dated(provider, name)

    def _match_dated(self, provider: ProviderEntry, name: str) -> ModelEntry | None:
        # Providers accept dated snapshots ("claude-3-5-sonnet-20241022"); price them as their family.
        candidates = [m for m in self.models.values() if m.provider is provider and name.startswith(m.name + "-")]
        if not candidates:
            return None
        best = max(candidates, key=lambda m: len(m.name))
        return replace(best, id=f"{provider.slug}/{name}", name=name)


def thread_connections_refresh() -> None:
    """Drop this thread's stale database connections, as Django's request signals would.

    Gateway loaders run in executor threads, outside request_started/request_finished.
    """
    if not connection.in_atomic_block:
        close_old_connections()


def catalog_load() -> Catalog:
    """Read the enabled catalog from the database (one query per table)."""
    thread_connections_refresh()
    providers = {
        p.slug: ProviderEntry(p.slug, p.name, p.wire, p.base_url, p.env_prefix, p.is_demo, p.open_catalog)
        for p in Provider.objects.filter(enabled=True)
    }
    if not settings.GATEWAY_DEMO_PROVIDER:
        providers = {k: v for k, v in providers.items() if v.wire != Wire.DEMO}
    catalog = Catalog(providers=providers, loaded_at=time.monotonic())
    for m in CatalogModel.objects.filter(enabled=True, provider_id__in=list(providers)).iterator(chunk_size=2000):
        base = Prices(m.input_price, m.output_price, m.cache_read_price, m.cache_write_price, m.reasoning_price)
        catalog.models[m.id] = ModelEntry(
            id=m.id,
            provider=providers[m.provider_id],
            name=m.name,
            display_name=m.display_name or m.name,
            mode=m.mode,
            prices=prices_from_tiers(base, m.price_tiers),
            context_window=m.context_window,
            max_output_tokens=m.max_output_tokens,
            supports_tools=m.supports_tools,
            supports_vision=m.supports_vision,
            supports_json=m.supports_json,
            supports_streaming=m.supports_streaming,
        )
    rank = {slug: i for i, slug in enumerate(BARE_NAME_PRIORITY)}
    for model_id in sorted(catalog.models, key=lambda i: (rank.get(i.split("/", 1)[0], 99), i)):
        catalog.by_name.setdefault(catalog.models[model_id].name, model_id)
    return catalog


class CatalogCache:
    """Holds the catalog in process and refreshes it in the background when it goes stale."""

    def __init__(self) -> None:
        self._catalog: Catalog | None = None
        self._refreshing: asyncio.Task | None = None

    async def get(self) -> Catalog:
        """The catalog; only the very first call waits for the database."""
        if self._catalog is None:
            self._catalog = await sync_to_async(catalog_load, thread_sensitive=False)()
        elif time.monotonic() - self._catalog.loaded_at > settings.GATEWAY_CATALOG_TTL_SECONDS:
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.ensure_future(self._refresh())
        return self._catalog

    async def _refresh(self) -> None:
        self._catalog = await sync_to_async(catalog_load, thread_sensitive=False)()

    def clear(self) -> None:
        """Forget the catalog (tests and admin edits)."""
        self._catalog = None


catalog_cache = CatalogCache()
