"""Console forms and the catalog filter: they parse input; the services decide what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet
from django.urls import reverse_lazy
from django.utils.html import format_html, format_html_join

from orgs.forms import ConsoleForm
from routing import selectors
from routing.models import CatalogModel, ModelMode, Provider, Wire
from routing.services import PRICE_FIELDS

PRICE_DIGITS = {"max_digits": 14, "decimal_places": 6, "min_value": Decimal("0")}


class DatalistInput(forms.TextInput):
    """A text input that suggests values from a <datalist> (the browser filters it as you type)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.options: Iterable[str] = ()

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        list_id = f"{name}-options"
        html = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}">', ((option,) for option in self.options))
        return html + format_html('<datalist id="{}">{}</datalist>', list_id, options)


class ProviderCredentialForm(ConsoleForm):
    """An organization's own key for a provider; the key is write-only and never rendered back."""

    api_key = forms.CharField(
        label="API key",
        max_length=4000,
        widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "new-password", "spellcheck": "false"}),
        help_text="Stored encrypted. Only its last four characters are ever shown again.",
    )
    base_url = forms.URLField(label="Base URL", required=False, max_length=300, assume_scheme="https")
    api_version = forms.CharField(
        label="API version", required=False, max_length=40, help_text="For example 2024-10-21."
    )

    def __init__(self, *args: Any, provider: Provider, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base_url = self.fields["base_url"]
        if provider.base_url:
            base_url.help_text = f"Leave empty to use {provider.base_url}."
        else:
            base_url.required = True
            base_url.help_text = "Your resource's endpoint, e.g. https://my-resource.openai.azure.com."
        if provider.open_catalog:
            self.fields["api_key"].help_text = (
                "Self-hosted servers often ignore it; enter any value if yours does. "
                + self.fields["api_key"].help_text
            )
        if provider.wire != Wire.AZURE:
            del self.fields["api_version"]


class OrgModelPriceForm(ConsoleForm):
    """A negotiated price for one catalog model, in USD per million tokens."""

    model = forms.ModelChoiceField(
        queryset=CatalogModel.objects.none(),
        label="Model",
        widget=DatalistInput(attrs={"placeholder": "openai/gpt-4o-mini", "autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "invalid_choice": "Unknown model “%(value)s”. Use a provider/model id from the Models page.",
            "required": "Enter a model id such as openai/gpt-4o-mini.",
        },
        help_text="A provider/model id from the catalog.",
    )
    input_price = forms.DecimalField(label="Input ($ per million tokens)", **PRICE_DIGITS)
    output_price = forms.DecimalField(label="Output ($ per million tokens)", **PRICE_DIGITS)
    cache_read_price = forms.DecimalField(
        label="Cache read ($ per million tokens)", required=False, help_text="Empty: the list price.", **PRICE_DIGITS
    )
    cache_write_price = forms.DecimalField(
        label="Cache write ($ per million tokens)", required=False, help_text="Empty: the list price.", **PRICE_DIGITS
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = selectors.catalog_model_choices()
        self.fields["model"].widget.options = selectors.catalog_model_ids()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        model = data.get("model")
        if model is not None:
            for name in PRICE_FIELDS:
                if name in data and data[name] is None:
                    data[name] = getattr(model, name)
        return data


SORTS = {
    "input": ("Cheapest input", [F("price_input").asc(), "id"]),
    "-input": ("Priciest input", [F("price_input").desc(), "id"]),
    "output": ("Cheapest output", [F("price_output").asc(), "id"]),
    "-output": ("Priciest output", [F("price_output").desc(), "id"]),
    "-context": ("Largest context", [F("context_window").desc(nulls_last=True), "id"]),
    "context": ("Smallest context", [F("context_window").asc(nulls_last=True), "id"]),
}


def _capability(label: str, field: str) -> django_filters.BooleanFilter:
    return django_filters.BooleanFilter(
        field_name=field, label=label, method="filter_capability", widget=forms.CheckboxInput
    )


class CatalogModelFilter(django_filters.FilterSet):
    """The models page's filters: search, provider, mode, capabilities, and the sort order."""

    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Search models",
                "autocomplete": "off",
                "hx-get": reverse_lazy("routing:model-list"),
                "hx-trigger": "input changed delay:300ms, search",
                "hx-include": "closest form",
                "hx-sync": "closest form:replace",
            }
        ),
    )
    provider = django_filters.ModelChoiceFilter(
        queryset=Provider.objects.filter(enabled=True), to_field_name="slug", empty_label="Any provider"
    )
    mode = django_filters.ChoiceFilter(choices=ModelMode.choices, empty_label="Any mode")
    tools = _capability("Tools", "supports_tools")
    vision = _capability("Vision", "supports_vision")
    sort = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in SORTS.items()], method="sort_by", empty_label="Sort by model id"
    )

    def filter_search(self, queryset: QuerySet[CatalogModel], name: str, value: str) -> QuerySet[CatalogModel]:
        value = value.strip()
        return queryset.filter(Q(id__icontains=value) | Q(display_name__icontains=value)) if value else queryset

    def filter_capability(self, queryset: QuerySet[CatalogModel], name: str, value: bool) -> QuerySet[CatalogModel]:
        return queryset.filter(**{name: True}) if value else queryset

    def sort_by(self, queryset: QuerySet[CatalogModel], name: str, value: str) -> QuerySet[CatalogModel]:
        return queryset.order_by(*SORTS[value][1])
