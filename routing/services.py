"""Writes for routing: the model catalog seeded from genai-prices, and provider credentials."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from orgs.models import Organization, User
from orgs.services import audit_record
from routing.models import (
    CatalogModel,
    ModelMode,
    OrgModelPrice,
    Provider,
    ProviderCredential,
    Wire,
    encrypt_secret,
)


@dataclass(frozen=True)
class ProviderSpec:
    """How one supported provider is reached, and where genai-prices keeps its prices."""

    slug: str
    name: str
    wire: str
    base_url: str
    env_prefix: str
    genai_id: str | None = None
    open_catalog: bool = False
    also_from: tuple[str, ...] = ()


SUPPORTED_PROVIDERS: tuple[ProviderSpec, ...] = (
    ProviderSpec("openai", "OpenAI", Wire.OPENAI, "https://api.openai.com/v1", "OPENAI", "openai"),
    ProviderSpec("anthropic", "Anthropic", Wire.ANTHROPIC, "https://api.anthropic.com", "ANTHROPIC", "anthropic"),
    ProviderSpec(
        "google", "Google Gemini", Wire.GEMINI, "https://generativelanguage.googleapis.com", "GEMINI", "google"
    ),
    ProviderSpec("azure", "Azure OpenAI", Wire.AZURE, "", "AZURE_OPENAI", "azure", also_from=("openai",)),
    ProviderSpec("groq", "Groq", Wire.OPENAI, "https://api.groq.com/openai/v1", "GROQ", "groq"),
    ProviderSpec("together", "Together AI", Wire.OPENAI, "https://api.together.xyz/v1", "TOGETHER", "together"),
    ProviderSpec("deepseek", "DeepSeek", Wire.OPENAI, "https://api.deepseek.com/v1", "DEEPSEEK", "deepseek"),
    ProviderSpec("mistral", "Mistral", Wire.OPENAI, "https://api.mistral.ai/v1", "MISTRAL", "mistral"),
    ProviderSpec("xai", "xAI", Wire.OPENAI, "https://api.x.ai/v1", "XAI", "x-ai"),
    ProviderSpec(
        "fireworks", "Fireworks", Wire.OPENAI, "https://api.fireworks.ai/inference/v1", "FIREWORKS", "fireworks"
    ),
    ProviderSpec("openrouter", "OpenRouter", Wire.OPENAI, "https://openrouter.ai/api/v1", "OPENROUTER", "openrouter"),
    ProviderSpec("ollama", "Ollama", Wire.OPENAI, "http://127.0.0.1:11434/v1", "OLLAMA", open_catalog=True),
    ProviderSpec("vllm", "vLLM", Wire.OPENAI, "http://127.0.0.1:8001/v1", "VLLM", open_catalog=True),
    ProviderSpec("demo", "Demo (no key needed)", Wire.DEMO, "", ""),
)

# Demo prices are invented so that make run shows non-zero spend; the UI labels the provider as a demo.
DEMO_MODELS = (
    {
        "name": "echo",
        "display_name": "Demo echo (deterministic)",
        "mode": ModelMode.CHAT,
        "input_price": Decimal("1"),
        "output_price": Decimal("2"),
        "context_window": 128000,
    },
    {
        "name": "embed",
        "display_name": "Demo embeddings",
        "mode": ModelMode.EMBEDDING,
        "input_price": Decimal("0.02"),
        "output_price": Decimal("0"),
        "context_window": 8192,
    },
)

_VISION_HINTS = (
    "gpt-4o",
    "gpt-4.1",
    "gpt-5",
    "o1",
    "o3",
    "o4",
    "claude-3",
    "claude-sonnet",
    "claude-opus",
    "claude-haiku",
    "claude-fable",
    "claude-mythos",
    "gemini",
    "vision",
    "pixtral",
    "llava",
    "grok-4",
    "llama-4",
    "qwen-vl",
    "qwen2.5-vl",
)
_PRICE_KEYS = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
}


def _price_parts(value: Any) -> tuple[Decimal, list[tuple[int, Decimal]]]:
    """A genai-prices price as (base, [(tier start, tier price)])."""
    if value is None:
        return Decimal("0"), []
    if isinstance(value, Decimal):
        return value, []
    return value.base, [(tier.start, tier.price) for tier in value.tiers]


def _model_fields(model_info: Any) -> dict[str, Any] | None:
    """Catalog fields for one genai-prices model, or None when it is not priced per token."""
    prices = model_info.prices
    if isinstance(prices, list):
        unconstrained = [p for p in prices if p.constraint is None]
        prices = (unconstrained or prices)[0].prices
    raw = {ours: getattr(prices, theirs, None) for ours, theirs in _PRICE_KEYS.items()}
    if raw["input"] is None and raw["output"] is None:
        return None
    fields: dict[str, Any] = {}
    tiers: dict[int, dict[str, str]] = {}
    for ours, value in raw.items():
        base, tier_list = _price_parts(value)
        fields[f"{ours}_price"] = base
        for start, price in tier_list:
            tiers.setdefault(start, {"above": start})[ours] = str(price)
    fields["price_tiers"] = [tiers[k] for k in sorted(tiers)]
    name = model_info.id.lower()
    is_embedding = "embed" in name or name in {"ada", "text-embedding-ada-002"}
    fields["mode"] = ModelMode.EMBEDDING if is_embedding else ModelMode.CHAT
    fields["context_window"] = model_info.context_window
    fields["display_name"] = (model_info.name or model_info.id)[:200]
    fields["supports_vision"] = not is_embedding and any(h in name for h in _VISION_HINTS)
    fields["supports_tools"] = not is_embedding
    fields["supports_json"] = not is_embedding
    fields["supports_streaming"] = not is_embedding
    return fields


def _wanted(spec: ProviderSpec, model_id: str) -> bool:
    # genai-prices lists Vertex's Claude models under google; our google provider is the Gemini API.
    if spec.slug == "google":
        return model_id.startswith(("gemini", "gemma", "text-embedding", "embedding"))
    return True


@transaction.atomic
def catalog_sync(*, update_prices: bool = False, only: set[str] | None = None) -> dict[str, int]:
    """Create the supported providers and every model genai-prices prices for them.

    Existing rows keep their (possibly hand-edited) prices unless update_prices is set; `only` limits
    the models to these `provider/model` ids (tests seed a handful).
    """
    from genai_prices.data_snapshot import get_snapshot

    snapshot = {p.id: p for p in get_snapshot().providers}
    counts = {"providers": 0, "created": 0, "updated": 0}
    for spec in SUPPORTED_PROVIDERS:
        provider, _ = Provider.objects.update_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "wire": spec.wire,
                "base_url": spec.base_url,
                "env_prefix": spec.env_prefix,
                "is_demo": spec.wire == Wire.DEMO,
                "open_catalog": spec.open_catalog,
            },
        )
        counts["providers"] += 1
        entries: list[tuple[str, dict[str, Any]]] = []
        if spec.wire == Wire.DEMO:
            entries = [(m["name"], {k: v for k, v in m.items() if k != "name"}) for m in DEMO_MODELS]
        elif spec.genai_id and spec.genai_id in snapshot:
            source = snapshot[spec.genai_id]
            # Azure serves OpenAI's models (deployments named after them) at OpenAI's prices.
            infos = list(source.models)
            for other in spec.also_from:
                infos.extend(snapshot[other].models)
            seen: set[str] = set()
            for info in infos:
                if info.id in seen or not _wanted(spec, info.id):
                    continue
                seen.add(info.id)
                fields = _model_fields(info)
                if fields is not None:
                    entries.append((info.id, fields))
        existing = set(CatalogModel.objects.filter(provider=provider).values_list("name", flat=True))
        for name, fields in entries:
            if only is not None and f"{spec.slug}/{name}" not in only:
                continue
            if name in existing:
                if update_prices:
                    CatalogModel.objects.filter(provider=provider, name=name).update(**fields)
                    counts["updated"] += 1
                continue
            CatalogModel.objects.create(id=f"{spec.slug}/{name}", provider=provider, name=name, **fields)
            counts["created"] += 1
    return counts


@transaction.atomic
def provider_credential_set(
    *,
    org: Organization,
    actor: User,
    provider: Provider,
    api_key: str,
    base_url: str = "",
    api_version: str = "",
    ip: str | None = None,
) -> ProviderCredential:
    """Store an organization's own provider key, encrypted; the audit row never holds the key."""
    api_key = api_key.strip()
    if not api_key:
        raise ValidationError({"api_key": "Enter the provider's API key."})
    cred, created = ProviderCredential.objects.update_or_create(
        org=org,
        provider=provider,
        defaults={
            "api_key_encrypted": encrypt_secret(api_key),
            "key_hint": api_key[-4:],
            "base_url": base_url,
            "api_version": api_version,
            "created_by": actor,
        },
    )
    audit_record(
        org=org,
        actor=actor,
        action="provider_credential.create" if created else "provider_credential.update",
        obj=cred,
        after={"provider": provider.slug, "key_hint": cred.key_hint, "base_url": base_url},
        ip=ip,
    )
    return cred


@transaction.atomic
def provider_credential_delete(*, credential: ProviderCredential, actor: User, ip: str | None = None) -> None:
    """Remove an organization's provider key."""
    audit_record(
        org=credential.org,
        actor=actor,
        action="provider_credential.delete",
        obj=credential,
        before={"provider": credential.provider_id, "key_hint": credential.key_hint},
        ip=ip,
    )
    credential.delete()


PRICE_FIELDS = ("input_price", "output_price", "cache_read_price", "cache_write_price")


@transaction.atomic
def org_model_price_set(
    *, org: Organization, actor: User, model: CatalogModel, ip: str | None = None, **prices: Decimal
) -> OrgModelPrice:
    """Set an organization's negotiated price for one model (USD per million tokens)."""
    for name in PRICE_FIELDS:
        value = prices.get(name, Decimal("0"))
        if value is None or Decimal(value) < 0:
            raise ValidationError({name: "Prices must be zero or more."})
    existing = OrgModelPrice.objects.for_org(org).filter(model=model).first()
    before = {n: str(getattr(existing, n)) for n in PRICE_FIELDS} if existing else None
    price, _ = OrgModelPrice.objects.update_or_create(
        org=org, model=model, defaults={n: Decimal(prices.get(n, Decimal("0"))) for n in PRICE_FIELDS}
    )
    audit_record(
        org=org,
        actor=actor,
        action="model_price.set",
        obj=price,
        before=before,
        after={"model": model.id, **{n: str(getattr(price, n)) for n in PRICE_FIELDS}},
        ip=ip,
    )
    return price


@transaction.atomic
def org_model_price_delete(*, price: OrgModelPrice, actor: User, ip: str | None = None) -> None:
    """Drop a negotiated price; the catalog price applies again."""
    audit_record(
        org=price.org,
        actor=actor,
        action="model_price.delete",
        obj=price,
        before={"model": price.model_id, **{n: str(getattr(price, n)) for n in PRICE_FIELDS}},
        ip=ip,
    )
    price.delete()
