"""Reads for billing: the usage ledger as a member may see it, and its totals; always scoped by organization."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.shortcuts import get_object_or_404

from billing.models import UsageRecord, UsageStatus
from orgs.models import Membership, Organization

ZERO = Decimal("0")


@dataclass(frozen=True)
class UsageSummary:
    """Totals over a set of usage records: spend, requests, errors, tokens and latency."""

    spend: Decimal
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    avg_latency_ms: int | None

    @property
    def error_rate(self) -> Decimal | None:
        """Errors as a percentage of requests, to one decimal; None when there were no requests."""
        if not self.requests:
            return None
        return (Decimal(self.errors * 100) / self.requests).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class ModelSpend:
    """One model's share of the spend in a set of usage records."""

    model: str
    requests: int
    spend: Decimal
    share: Decimal | None


def usage_record_list(*, org: Organization, membership: Membership) -> QuerySet[UsageRecord]:
    """The ledger a member may see, newest first: the whole org's for spend readers, their own rows otherwise."""
    qs = UsageRecord.objects.for_org(org).select_related("api_key", "user", "team")
    if not membership.can_view_spend:
        qs = qs.filter(user=membership.user)
    return qs.order_by("-created_at", "-id")


def usage_record_get(*, org: Organization, membership: Membership, request_id: str) -> UsageRecord:
    """One visible usage record by its request id, or 404."""
    return get_object_or_404(usage_record_list(org=org, membership=membership), request_id=request_id)


def usage_summary(*, records: QuerySet[UsageRecord]) -> UsageSummary:
    """Exact totals of a (filtered) set of records, in one aggregate query."""
    totals = records.aggregate(
        spend=Coalesce(Sum("cost"), Value(ZERO)),
        requests=Count("id"),
        errors=Count("id", filter=Q(status=UsageStatus.ERROR)),
        input_tokens=Coalesce(Sum("input_tokens"), 0),
        output_tokens=Coalesce(Sum("output_tokens"), 0),
        cache_read_tokens=Coalesce(Sum("cache_read_tokens"), 0),
        cache_write_tokens=Coalesce(Sum("cache_write_tokens"), 0),
        reasoning_tokens=Coalesce(Sum("reasoning_tokens"), 0),
        avg_latency=Avg("latency_ms"),
    )
    avg_latency = totals.pop("avg_latency")
    return UsageSummary(**totals, avg_latency_ms=None if avg_latency is None else round(avg_latency))


def usage_top_models(*, records: QuerySet[UsageRecord], total: Decimal, limit: int = 5) -> list[ModelSpend]:
    """The models that cost the most in a set of records (the requested name where none was used)."""
    rows = (
        records.annotate(model=Coalesce(NullIf("model_used", Value("")), "model_requested"))
        .values("model")
        .annotate(spend=Sum("cost"), requests=Count("id"))
        .order_by("-spend", "-requests", "model")[:limit]
    )
    return [
        ModelSpend(
            model=row["model"],
            requests=row["requests"],
            spend=row["spend"],
            share=(row["spend"] * 100 / total).quantize(Decimal("0.1")) if total else None,
        )
        for row in rows
    ]


def usage_provider_choices(*, records: QuerySet[UsageRecord]) -> list[str]:
    """The providers that appear in a set of records, for the provider filter."""
    return list(records.exclude(provider="").order_by("provider").values_list("provider", flat=True).distinct())
