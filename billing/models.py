"""The usage ledger: one row per /v1 request, written off the hot path in batches."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from orgs.models import ApiKey, Organization, Team, TenantQuerySet, User


class UsageStatus(models.TextChoices):
    """How a request ended."""

    SUCCESS = "success", "Success"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Client disconnected"


class UsageRecord(models.Model):
    """One /v1 request: who, which model, tokens, exact cost and latency."""

    id = models.BigAutoField(primary_key=True)
    request_id = models.CharField(max_length=64, unique=True)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="usage_records")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    endpoint = models.CharField(max_length=32)
    model_requested = models.CharField(max_length=200)
    model_used = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=UsageStatus.choices)
    http_status = models.PositiveSmallIntegerField()
    error_type = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    usage_reported = models.BooleanField(default=True, help_text="False when the provider reported no usage.")
    cost = models.DecimalField(max_digits=24, decimal_places=12, default=0, help_text="USD, exact.")
    latency_ms = models.PositiveIntegerField(default=0)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    streamed = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=1)
    end_user = models.CharField(max_length=200, blank=True)
    trace_id = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["org", "-created_at"]),
            models.Index(fields=["org", "api_key", "-created_at"]),
            models.Index(fields=["org", "model_used", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.model_used or self.model_requested} {self.status}"
