"""Django admin for the catalog (how platform admins edit providers, models and prices) and per-org routing data."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from routing.models import CatalogModel, OrgModelPrice, Provider, ProviderCredential

URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    """Upstream providers and their default endpoints."""

    list_display = ("slug", "name", "wire", "base_url", "env_prefix", "is_demo", "open_catalog", "enabled")
    list_filter = ("wire", "enabled", "is_demo", "open_catalog")
    list_editable = ("enabled",)
    search_fields = ("slug", "name")
    formfield_overrides = URL_FIELDS


@admin.register(CatalogModel)
class CatalogModelAdmin(admin.ModelAdmin):
    """The model catalog; prices are USD per million tokens and editable in the list."""

    list_display = (
        "id",
        "provider",
        "mode",
        "input_price",
        "output_price",
        "cache_read_price",
        "cache_write_price",
        "context_window",
        "enabled",
    )
    list_editable = ("input_price", "output_price", "cache_read_price", "cache_write_price", "enabled")
    list_filter = ("provider", "mode", "enabled", "supports_tools", "supports_vision")
    list_select_related = ("provider",)
    search_fields = ("id", "name", "display_name")
    readonly_fields = ("updated_at",)
    list_per_page = 100
    fieldsets = (
        (None, {"fields": ("id", "provider", "name", "display_name", "mode", "enabled")}),
        (
            "Prices (USD per million tokens)",
            {
                "fields": (
                    ("input_price", "output_price"),
                    ("cache_read_price", "cache_write_price"),
                    "reasoning_price",
                    "price_tiers",
                )
            },
        ),
        ("Limits", {"fields": (("context_window", "max_output_tokens"),)}),
        (
            "Capabilities",
            {"fields": (("supports_tools", "supports_vision", "supports_json", "supports_streaming"),)},
        ),
        (None, {"fields": ("updated_at",)}),
    )

    def get_readonly_fields(self, request, obj=None):
        # The id is the public `provider/model` name clients send; renaming it would orphan usage and prices.
        return (*self.readonly_fields, "id") if obj else self.readonly_fields


@admin.register(OrgModelPrice)
class OrgModelPriceAdmin(admin.ModelAdmin):
    """Organizations' negotiated prices."""

    list_display = ("org", "model", "input_price", "output_price", "cache_read_price", "cache_write_price")
    list_filter = ("model__provider",)
    list_select_related = ("org", "model")
    search_fields = ("org__name", "org__slug", "model__id")
    autocomplete_fields = ("model",)
    raw_id_fields = ("org",)


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    """Organizations' own provider keys: the encrypted key is never shown or editable here, only its hint."""

    list_display = ("org", "provider", "key_hint", "base_url", "api_version", "created_by", "updated_at")
    list_filter = ("provider",)
    list_select_related = ("org", "provider", "created_by")
    search_fields = ("org__name", "org__slug", "key_hint")
    exclude = ("api_key_encrypted",)
    formfield_overrides = URL_FIELDS

    # Keys are set through the console, which encrypts them and writes the audit row; here they are only viewed.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
