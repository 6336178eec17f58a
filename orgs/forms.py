"""Console forms and list filters: they parse input; the services decide what is allowed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from orgs.filters import KEY_STATUSES, api_key_status_q
from orgs.models import ApiKey, ApiKeyKind, AuditLog, Membership, Organization, Role, Team, User


class ConsoleForm(forms.Form):
    """A form that shows a service's errors inline (templates render it with orgs/partials/form_fields.html)."""

    def add_service_error(self, exc: ValidationError) -> None:
        """Put a service's ValidationError on the field it names, or above the form."""
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, exc)

    def call(self, service: Callable[..., Any], **kwargs: Any) -> Any:
        """Call a service with the cleaned data and kwargs; if it refuses, show why and return None."""
        try:
            return service(**self.cleaned_data, **kwargs)
        except ValidationError as exc:
            self.add_service_error(exc)
            return None


class OrganizationForm(ConsoleForm):
    """Create an organization (onboarding)."""

    name = forms.CharField(label="Organization name", max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))


class OrgSettingsForm(ConsoleForm):
    """An organization's editable settings."""

    name = forms.CharField(label="Organization name", max_length=120)
    billing_email = forms.EmailField(required=False, help_text="Invoices and budget alerts are sent here.")


class SwitchOrgForm(forms.Form):
    """The organization to switch to."""

    org = forms.UUIDField()


class TeamForm(ConsoleForm):
    """A team's name and description."""

    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    description = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RoleTeamsForm(ConsoleForm):
    """A role and teams in one organization (changing a member)."""

    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = Team.objects.for_org(org)


class InvitationForm(RoleTeamsForm):
    """Invite an email address with a role and teams."""

    email = forms.EmailField(widget=forms.EmailInput(attrs={"autofocus": True, "placeholder": "name@company.com"}))
    field_order = ["email", "role", "teams"]


class ApiKeyForm(ConsoleForm):
    """Issue a key; owners and admins may also choose whose it is and what it may call."""

    name = forms.CharField(
        max_length=120,
        help_text="What uses it, for example “support-bot production”.",
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="No team", help_text="Spend rolls up to this team."
    )
    expires_at = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for a key that does not expire.",
    )
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Belongs to")
    kind = forms.ChoiceField(
        choices=ApiKeyKind.choices,
        initial=ApiKeyKind.GATEWAY,
        help_text="Gateway keys call the models at /v1; management keys call the management API and need an owner or admin.",
    )

    def __init__(self, *args: Any, org: Organization, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.for_org(org)
        if not membership.is_manager:
            # Members bill keys only to their own teams (the service enforces it too).
            self.fields["team"].queryset = membership.teams.all()
        if membership.is_manager:
            self.fields["user"].queryset = User.objects.filter(memberships__org=org).order_by("email")
            self.fields["user"].initial = membership.user_id
        else:
            del self.fields["user"]
            del self.fields["kind"]

    def clean_expires_at(self) -> datetime | None:
        day = self.cleaned_data["expires_at"]
        # A key "expires on" a day: it stops working as that day begins (UTC).
        return datetime.combine(day, time.min, tzinfo=UTC) if day else None


class KeyTableFilter(django_filters.FilterSet):
    """The key list's filters: status, team and (for those who see every key) owner."""

    status = django_filters.ChoiceFilter(
        choices=[(status, status.capitalize()) for status in KEY_STATUSES],
        method="filter_status",
        empty_label="Any status",
    )
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.none(), empty_label="Any team")
    user = django_filters.ModelChoiceFilter(
        queryset=User.objects.none(), to_field_name="email", empty_label="Anyone", label="Owner"
    )

    def __init__(self, data: Any, *, queryset: QuerySet[ApiKey], org: Organization, membership: Membership) -> None:
        super().__init__(data, queryset=queryset)
        self.filters["team"].queryset = Team.objects.for_org(org)
        if membership.sees_all_keys:
            self.filters["user"].queryset = User.objects.filter(memberships__org=org).order_by("email")
        else:
            del self.filters["user"]

    def filter_status(self, queryset: QuerySet[ApiKey], name: str, value: str) -> QuerySet[ApiKey]:
        return queryset.filter(api_key_status_q(value))


class AuditTableFilter(django_filters.FilterSet):
    """The audit log page's filters: action, actor, object type and a date range."""

    action = django_filters.ChoiceFilter(empty_label="Any action")
    actor = django_filters.CharFilter(
        field_name="actor_email",
        lookup_expr="icontains",
        label="Actor email",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Actor email"}),
    )
    object_type = django_filters.ChoiceFilter(empty_label="Any object", label="Object")
    date_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: Any, *, queryset: QuerySet[AuditLog]) -> None:
        super().__init__(data, queryset=queryset)
        for name in ("action", "object_type"):
            values = queryset.order_by(name).values_list(name, flat=True).distinct()
            self.filters[name].extra["choices"] = [(value, value) for value in values]
