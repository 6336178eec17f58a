"""Console filters for billing: they parse input; selectors decide what a member may see."""

from __future__ import annotations

import json
from datetime import timedelta

import django_filters
from django import forms
from django.db import connection
from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse_lazy
from django.utils import timezone

from billing.models import UsageRecord, UsageStatus
from billing.selectors import usage_provider_choices
from orgs.models import ApiKey, ApiKeyKind, Membership, Organization, Team, User
from orgs.selectors import api_key_list

# (label, how far back) by the value the period filter takes in the URL.
PERIODS: dict[str, tuple[str, timedelta | None]] = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "all": ("All time", None),
}
DEFAULT_PERIOD = "7d"


def _search(placeholder: str) -> forms.TextInput:
    """A search box that refreshes the table as you type (the rest of the bar refreshes on change)."""
    return forms.TextInput(
        attrs={
            "type": "search",
            "placeholder": placeholder,
            "autocomplete": "off",
            "hx-get": reverse_lazy("billing:usage"),
            "hx-trigger": "input changed delay:300ms, search",
            "hx-include": "closest form",
            "hx-sync": "closest form:replace",
        }
    )


class UsageFilter(django_filters.FilterSet):
    """The usage page's filters: period, model, provider, status, key, team, user, tag and missing usage."""

    period = django_filters.ChoiceFilter(
        choices=[(value, label) for value, (label, _) in PERIODS.items()],
        method="filter_period",
        empty_label=None,
        label="Period",
    )
    model = django_filters.CharFilter(
        field_name="model_used", lookup_expr="icontains", label="Model", widget=_search("Model")
    )
    provider = django_filters.ChoiceFilter(empty_label="Any provider")
    status = django_filters.ChoiceFilter(choices=UsageStatus.choices, empty_label="Any status")
    key = django_filters.ModelChoiceFilter(
        field_name="api_key", queryset=ApiKey.objects.none(), empty_label="Any key", label="API key"
    )
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.none(), empty_label="Any team")
    user = django_filters.ModelChoiceFilter(
        queryset=User.objects.none(), to_field_name="email", empty_label="Anyone", label="User"
    )
    tag = django_filters.CharFilter(method="filter_tag", label="Tag", widget=_search("Tag"))
    unreported = django_filters.BooleanFilter(
        method="filter_unreported", label="No usage reported", widget=forms.CheckboxInput
    )

    def __init__(
        self, data: QueryDict, *, queryset: QuerySet[UsageRecord], org: Organization, membership: Membership
    ) -> None:
        data = data.copy()
        if data.get("period") not in PERIODS:
            data["period"] = DEFAULT_PERIOD
        super().__init__(data, queryset=queryset)
        self.filters["provider"].extra["choices"] = [(p, p) for p in usage_provider_choices(records=queryset)]
        self.filters["key"].queryset = api_key_list(org=org, membership=membership).filter(kind=ApiKeyKind.GATEWAY)
        self.filters["team"].queryset = Team.objects.for_org(org)
        if membership.can_view_spend:
            self.filters["user"].queryset = User.objects.filter(memberships__org=org).order_by("email")
        else:
            del self.filters["user"]

    def filter_period(self, queryset: QuerySet[UsageRecord], name: str, value: str) -> QuerySet[UsageRecord]:
        since = PERIODS[value][1]
        return queryset if since is None else queryset.filter(created_at__gte=timezone.now() - since)

    def filter_tag(self, queryset: QuerySet[UsageRecord], name: str, value: str) -> QuerySet[UsageRecord]:
        value = value.strip()
        if not value:
            return queryset
        if connection.features.supports_json_field_contains:
            return queryset.filter(tags__contains=[value])
        # SQLite (the embedded default) has no JSON containment: match the quoted element in the stored text.
        return queryset.filter(tags__icontains=json.dumps(value))

    def filter_unreported(self, queryset: QuerySet[UsageRecord], name: str, value: bool) -> QuerySet[UsageRecord]:
        return queryset.filter(usage_reported=False) if value else queryset
