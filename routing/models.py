"""The model catalog (providers, models, prices) and per-org provider credentials."""

from __future__ import annotations

import base64
import hashlib
import uuid
from decimal import Decimal

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models
from django.utils import timezone

from orgs.models import Organization, TenantQuerySet, User


class Wire(models.TextChoices):
    """The HTTP dialect a provider speaks."""

    OPENAI = "openai", "OpenAI"
    ANTHROPIC = "anthropic", "Anthropic Messages"
    GEMINI = "gemini", "Google Gemini"
    AZURE = "azure", "Azure OpenAI"
    DEMO = "demo", "Demo (in-process)"


class ModelMode(models.TextChoices):
    """What a model is called for."""

    CHAT = "chat", "Chat"
    EMBEDDING = "embedding", "Embedding"


class Provider(models.Model):
    """An upstream LLM provider and its default endpoint."""

    slug = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=80)
    wire = models.CharField(max_length=16, choices=Wire.choices)
    base_url = models.URLField(max_length=300, blank=True)
    env_prefix = models.CharField(max_length=40, blank=True, help_text="e.g. OPENAI reads OPENAI_API_KEY.")
    is_demo = models.BooleanField(default=False)
    open_catalog = models.BooleanField(
        default=False, help_text="Serves any model name (self-hosted Ollama or vLLM), priced at zero unless listed."
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


PRICE = {"max_digits": 14, "decimal_places": 6, "default": Decimal("0")}


class CatalogModel(models.Model):
    """A model a provider serves, with its prices in USD per million tokens and its limits."""

    id = models.CharField(max_length=200, primary_key=True, help_text="provider/model")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=160, help_text="The provider's own model name.")
    display_name = models.CharField(max_length=200, blank=True)
    mode = models.CharField(max_length=16, choices=ModelMode.choices, default=ModelMode.CHAT)
    input_price = models.DecimalField(**PRICE)
    output_price = models.DecimalField(**PRICE)
    cache_read_price = models.DecimalField(**PRICE)
    cache_write_price = models.DecimalField(**PRICE)
    reasoning_price = models.DecimalField(
        max_digits=14, decimal_places=6, null=True, blank=True, help_text="Blank: reasoning is billed as output."
    )
    price_tiers = models.JSONField(
        default=list,
        blank=True,
        help_text='Cliff tiers: [{"above": 200000, "input": "6", "output": "22.5", ...}] by total input tokens.',
    )
    context_window = models.PositiveIntegerField(null=True, blank=True)
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True)
    supports_tools = models.BooleanField(default=True)
    supports_vision = models.BooleanField(default=False)
    supports_json = models.BooleanField(default=True)
    supports_streaming = models.BooleanField(default=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "model"

    def __str__(self) -> str:
        return self.id


class OrgModelPrice(models.Model):
    """An organization's negotiated price for one model, overriding the catalog."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="model_prices")
    model = models.ForeignKey(CatalogModel, on_delete=models.CASCADE, related_name="org_prices")
    input_price = models.DecimalField(**PRICE)
    output_price = models.DecimalField(**PRICE)
    cache_read_price = models.DecimalField(**PRICE)
    cache_write_price = models.DecimalField(**PRICE)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "model"], name="org_model_price_unique")]

    def __str__(self) -> str:
        return f"{self.org}: {self.model_id}"


def _fernet() -> Fernet:
    key = settings.CREDENTIALS_KEY
    if not key:
        key = base64.urlsafe_b64encode(hashlib.sha256(("credentials:" + settings.SECRET_KEY).encode()).digest())
    return Fernet(key)


def encrypt_secret(plaintext: str) -> str:
    """Encrypt a provider credential for storage."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    """Decrypt a stored provider credential; an undecryptable one reads as empty."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return ""


class ProviderCredential(models.Model):
    """An organization's own key for a provider (bring your own key), encrypted at rest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="provider_credentials")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="credentials")
    api_key_encrypted = models.TextField()
    key_hint = models.CharField(max_length=12, blank=True, help_text="Last four characters, for recognition.")
    base_url = models.URLField(max_length=300, blank=True)
    api_version = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "provider"], name="provider_credential_unique")]

    def __str__(self) -> str:
        return f"{self.org}: {self.provider_id} key …{self.key_hint}"

    @property
    def api_key(self) -> str:
        return decrypt_secret(self.api_key_encrypted)
