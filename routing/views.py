"""Console pages for providers, the model catalog and negotiated prices: authorize, parse, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from orgs.console import actor_kwargs, confirm_action, form_data, form_page, render_page
from orgs.decorators import org_member_required, org_role_required
from routing import selectors, services
from routing.forms import CatalogModelFilter, OrgModelPriceForm, ProviderCredentialForm

MODEL_PAGE_SIZE = 50


# Providers and the org's own keys


@org_member_required
def provider_list(request: HttpRequest) -> HttpResponse:
    """Every enabled provider, whether and how it is configured for this org, and its model count."""
    return render(request, "routing/provider_list.html", {"rows": selectors.provider_list(org=request.org)})


@never_cache
@sensitive_post_parameters("api_key")
@org_role_required("is_manager")
def credential_set(request: HttpRequest, slug: str) -> HttpResponse:
    """Set (or replace) the org's own key for a provider; the key is never shown back."""
    provider = selectors.provider_get(slug=slug)
    current = selectors.provider_credential_for(org=request.org, provider=provider)
    form = ProviderCredentialForm(form_data(request), provider=provider)
    if form.is_valid():
        credential = form.call(
            services.provider_credential_set, org=request.org, provider=provider, **actor_kwargs(request)
        )
        if credential:
            messages.success(request, f"Your {provider.name} key …{credential.key_hint} was saved.")
            return redirect("routing:provider-list")
    intro = (
        f"Requests to {provider.name} use this key instead of the deployment's."
        + (f" It replaces your current key …{current.key_hint}." if current else "")
        + " It is stored encrypted and is never shown again."
    )
    title = f"{'Replace' if current else 'Add'} your {provider.name} key"
    return form_page(request, form, title=title, submit="Save key", back=reverse("routing:provider-list"), intro=intro)


@org_role_required("is_manager")
def credential_delete(request: HttpRequest, credential_id) -> HttpResponse:
    """Remove the org's own key for a provider after confirmation."""
    credential = selectors.provider_credential_get(org=request.org, credential_id=credential_id)
    name = credential.provider.name
    return confirm_action(
        request,
        perform=lambda: services.provider_credential_delete(credential=credential, **actor_kwargs(request)),
        done=f"Your {name} key …{credential.key_hint} was removed.",
        back=reverse("routing:provider-list"),
        title=f"Remove your {name} key …{credential.key_hint}?",
        message=f"Requests to {name} fall back to the deployment's key, or fail if it has none.",
        action="Remove key",
    )


# The model catalog


@org_member_required
def model_list(request: HttpRequest) -> HttpResponse:
    """The catalog priced for this org: filter, search, sort by price, paginate."""
    model_filter = CatalogModelFilter(request.GET, queryset=selectors.catalog_model_list(org=request.org))
    page = Paginator(model_filter.qs, MODEL_PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = any(value for key, value in request.GET.items() if key not in ("page", "sort"))
    context = {"filter": model_filter, "page": page, "filtered": filtered, "sort": request.GET.get("sort", "")}
    return render_page(request, "routing/model_list.html", context, partial="routing/partials/model_table.html")


# Negotiated prices


@org_member_required
def price_list(request: HttpRequest) -> HttpResponse:
    """The org's negotiated prices next to the list prices they replace."""
    return render(request, "routing/price_list.html", {"prices": selectors.org_model_price_list(org=request.org)})


@org_role_required("is_manager")
def price_set(request: HttpRequest) -> HttpResponse:
    """Add or change the negotiated price of one model (?model=provider/model pre-fills it)."""
    initial = selectors.org_model_price_initial(org=request.org, model_id=request.GET.get("model", ""))
    form = OrgModelPriceForm(form_data(request), initial=initial)
    if form.is_valid() and (price := form.call(services.org_model_price_set, org=request.org, **actor_kwargs(request))):
        messages.success(request, f"Negotiated price for {price.model_id} saved.")
        return redirect("routing:price-list")
    title = f"Negotiated price for {initial['model']}" if initial.get("input_price") is not None else "Negotiated price"
    intro = "Requests to this model are billed at these prices instead of the catalog's, in USD per million tokens."
    return form_page(request, form, title=title, submit="Save price", back=reverse("routing:price-list"), intro=intro)


@org_role_required("is_manager")
def price_delete(request: HttpRequest, price_id) -> HttpResponse:
    """Drop a negotiated price after confirmation."""
    price = selectors.org_model_price_get(org=request.org, price_id=price_id)
    return confirm_action(
        request,
        perform=lambda: services.org_model_price_delete(price=price, **actor_kwargs(request)),
        done=f"Negotiated price for {price.model_id} removed.",
        back=reverse("routing:price-list"),
        title=f"Remove the negotiated price for {price.model_id}?",
        message="Requests to this model are billed at the catalog's list price again.",
        action="Remove price",
    )
