"""Management API filters; they narrow querysets that selectors have already scoped to one organization."""

from __future__ import annotations

import uuid

import django_filters as filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from orgs.models import ApiKey, ApiKeyKind, AuditLog, Invitation, Membership, Role, Team

INVITATION_STATUSES = ["pending", "accepted", "revoked", "expired"]
KEY_STATUSES = ["active", "revoked", "expired"]


def member_match(value: str) -> Q:
    """A Q over Membership matching an email, a member id (UUID) or a user id."""
    value = value.strip()
    try:
        return Q(pk=uuid.UUID(value))
    except ValueError:
        pass
    if value.isdigit():
        return Q(user_id=int(value))
    return Q(user__email__iexact=value)


def _choices(values: list[str]) -> list[tuple[str, str]]:
    return [(v, v.capitalize()) for v in values]


def invitation_status_q(status: str) -> Q:
    """Invitations whose `status` property would be `status`."""
    now = timezone.now()
    open_ = Q(accepted_at__isnull=True, revoked_at__isnull=True)
    return {
        "pending": open_ & Q(expires_at__gt=now),
        "accepted": Q(accepted_at__isnull=False),
        "revoked": Q(accepted_at__isnull=True, revoked_at__isnull=False),
        "expired": open_ & Q(expires_at__lte=now),
    }[status]


def api_key_status_q(status: str) -> Q:
    """Keys whose `status` property would be `status`."""
    now = timezone.now()
    return {
        "active": Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now)),
        "revoked": Q(revoked_at__isnull=False),
        "expired": Q(revoked_at__isnull=True, expires_at__lte=now),
    }[status]


class TeamFilter(filters.FilterSet):
    """Teams by name."""

    name = filters.CharFilter(lookup_expr="icontains", help_text="Part of the team's name.")

    class Meta:
        model = Team
        fields = ["name"]


class MembershipFilter(filters.FilterSet):
    """Members by role, team and email."""

    role = filters.ChoiceFilter(choices=Role.choices)
    team = filters.UUIDFilter(field_name="teams__id", help_text="A team id.")
    email = filters.CharFilter(field_name="user__email", lookup_expr="icontains", help_text="Part of the email.")

    class Meta:
        model = Membership
        fields = ["role", "team", "email"]


class InvitationFilter(filters.FilterSet):
    """Invitations by status and email."""

    status = filters.ChoiceFilter(choices=_choices(INVITATION_STATUSES), method="filter_status")
    email = filters.CharFilter(lookup_expr="icontains", help_text="Part of the invited email.")

    class Meta:
        model = Invitation
        fields = ["status", "email"]

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(invitation_status_q(value))


class ApiKeyFilter(filters.FilterSet):
    """Keys by status, team, owner and kind."""

    status = filters.ChoiceFilter(choices=_choices(KEY_STATUSES), method="filter_status")
    team = filters.UUIDFilter(field_name="team_id", help_text="A team id.")
    user = filters.CharFilter(method="filter_user", help_text="The owner's email, member id or user id.")
    kind = filters.ChoiceFilter(choices=ApiKeyKind.choices)

    class Meta:
        model = ApiKey
        fields = ["status", "team", "user", "kind"]

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(api_key_status_q(value))

    def filter_user(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        owners = Membership.objects.filter(org=self.request.org).filter(member_match(value)).values("user_id")
        return queryset.filter(user_id__in=owners)


class AuditLogFilter(filters.FilterSet):
    """Audit rows by action, actor, object type and time."""

    action = filters.CharFilter(help_text="An action name, e.g. `team.create`.")
    actor = filters.CharFilter(field_name="actor_email", lookup_expr="iexact", help_text="The actor's email.")
    object_type = filters.CharFilter(help_text="e.g. `team`, `membership`, `apikey`.")
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="ISO 8601, inclusive.")
    until = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text="ISO 8601, exclusive.")

    class Meta:
        model = AuditLog
        fields = ["action", "actor", "object_type", "since", "until"]
