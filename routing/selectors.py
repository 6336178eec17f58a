"""Reads for routing: providers and how each is configured for an org, the priced catalog, negotiated prices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Count, ExpressionWrapper, F, FilteredRelation, Q, QuerySet
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from orgs.models import Organization
from routing.models import CatalogModel, OrgModelPrice, Provider, ProviderCredential, Wire
from routing.services import PRICE_FIELDS


class ProviderSetup(models.TextChoices):
    """How the gateway reaches a provider for one organization."""

    DEMO = "demo", "Demo — answers in-process, no key needed"
    OWN_KEY = "own_key", "Your key"
    ENVIRONMENT = "environment", "Deployment key (environment)"
    INCOMPLETE = "incomplete", "Your key needs attention"
    NOT_CONFIGURED = "not_configured", "Not configured"


@dataclass(frozen=True)
class ProviderRow:
    """One enabled provider as the providers page shows it to an organization."""

    provider: Provider
    model_count: int
    credential: ProviderCredential | None
    setup: ProviderSetup
    problem: str = ""

    @property
    def is_configured(self) -> bool:
        return self.setup in (ProviderSetup.DEMO, ProviderSetup.OWN_KEY, ProviderSetup.ENVIRONMENT)


def provider_setup(provider: Provider, credential: ProviderCredential | None) -> tuple[ProviderSetup, str]:
    """How a provider is configured for an org, and what is wrong when it half is.

    Mirrors routing.gateway.proxy.deployment_for: the org's own key first, then the deployment's
    <PREFIX>_API_KEY / <PREFIX>_BASE_URL; open-catalog providers (Ollama, vLLM) need only a base URL.
    """
    if provider.wire == Wire.DEMO:
        return ProviderSetup.DEMO, ""
    env = settings.PROVIDER_ENV.get(provider.env_prefix, {})
    if credential is not None:
        if not provider.open_catalog and not credential.api_key:
            return (
                ProviderSetup.INCOMPLETE,
                "The stored key can't be decrypted (was CREDENTIALS_KEY changed?). Set it again.",
            )
        if not (credential.base_url or env.get("base_url") or provider.base_url):
            return ProviderSetup.INCOMPLETE, "A base URL is needed for this provider. Set the key again with one."
        return ProviderSetup.OWN_KEY, ""
    if provider.open_catalog:
        configured = bool(env.get("base_url"))
    else:
        configured = bool(env.get("api_key") and (env.get("base_url") or provider.base_url))
    return (ProviderSetup.ENVIRONMENT if configured else ProviderSetup.NOT_CONFIGURED), ""


def enabled_providers() -> QuerySet[Provider]:
    """Providers the gateway serves: enabled ones, and the demo only where the deployment offers it."""
    providers = Provider.objects.filter(enabled=True)
    if not settings.GATEWAY_DEMO_PROVIDER:
        providers = providers.filter(is_demo=False)
    return providers


def provider_list(*, org: Organization) -> list[ProviderRow]:
    """Every enabled provider with its model count and how it is configured for this org."""
    providers = enabled_providers().annotate(model_count=Count("models", filter=Q(models__enabled=True)))
    credentials = {c.provider_id: c for c in ProviderCredential.objects.for_org(org)}
    rows = []
    for provider in providers.order_by("-is_demo", "name"):
        credential = credentials.get(provider.slug)
        setup, problem = provider_setup(provider, credential)
        rows.append(ProviderRow(provider, provider.model_count, credential, setup, problem))
    return rows


def provider_get(*, slug: str) -> Provider:
    """An enabled provider that takes a key (not the demo), or 404."""
    return get_object_or_404(Provider.objects.filter(enabled=True, is_demo=False), slug=slug)


def provider_credential_for(*, org: Organization, provider: Provider) -> ProviderCredential | None:
    """This org's own key for a provider, if it set one."""
    return ProviderCredential.objects.for_org(org).filter(provider=provider).first()


def provider_credential_get(*, org: Organization, credential_id) -> ProviderCredential:
    """One of this org's provider keys, or 404."""
    return get_object_or_404(
        ProviderCredential.objects.for_org(org).select_related("provider", "org"), pk=credential_id
    )


def catalog_model_list(*, org: Organization) -> QuerySet[CatalogModel]:
    """Enabled models of enabled providers, priced for this org.

    Each row carries `price_input`, `price_output`, `price_cache_read` and `price_cache_write` (the org's
    negotiated price where it has one, else the list price) and `negotiated`.
    """
    effective = {f"price_{name.removesuffix('_price')}": Coalesce(f"deal__{name}", F(name)) for name in PRICE_FIELDS}
    return (
        CatalogModel.objects.filter(enabled=True, provider__in=enabled_providers())
        .select_related("provider")
        .annotate(deal=FilteredRelation("org_prices", condition=Q(org_prices__org=org)))
        .annotate(
            **effective,
            negotiated=ExpressionWrapper(Q(deal__id__isnull=False), output_field=models.BooleanField()),
        )
    )


def catalog_model_ids() -> list[str]:
    """Every enabled model id, for autocompletion."""
    return list(
        CatalogModel.objects.filter(enabled=True, provider__enabled=True).order_by("id").values_list("id", flat=True)
    )


def catalog_model_choices() -> QuerySet[CatalogModel]:
    """The models an org may negotiate a price for."""
    return CatalogModel.objects.filter(enabled=True, provider__enabled=True)


def org_model_price_list(*, org: Organization) -> QuerySet[OrgModelPrice]:
    """This org's negotiated prices with their catalog models, by model id."""
    return OrgModelPrice.objects.for_org(org).select_related("model", "model__provider").order_by("model_id")


def org_model_price_get(*, org: Organization, price_id) -> OrgModelPrice:
    """One of this org's negotiated prices, or 404."""
    return get_object_or_404(OrgModelPrice.objects.for_org(org).select_related("model", "org"), pk=price_id)


def org_model_price_initial(*, org: Organization, model_id: str) -> dict[str, object]:
    """Initial values of the price form for a model: the current negotiated price, else the list price."""
    model = catalog_model_choices().filter(pk=model_id).first()
    if model is None:
        return {"model": model_id} if model_id else {}
    source: CatalogModel | OrgModelPrice = OrgModelPrice.objects.for_org(org).filter(model=model).first() or model
    return {"model": model.pk, **{name: _plain(getattr(source, name)) for name in PRICE_FIELDS}}


def _plain(value: Decimal) -> Decimal:
    """A price without trailing zeros (2.500000 -> 2.5) for form inputs."""
    normalized = value.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized
