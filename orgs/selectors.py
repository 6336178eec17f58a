"""Reads for tenancy, always scoped by organization; another org's object is a 404."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from orgs.models import ApiKey, ApiKeyKind, AuditLog, Invitation, Membership, Organization, Team, User


def org_memberships_for_user(user: User) -> QuerySet[Membership]:
    """The organizations a user belongs to, for the org switcher."""
    return Membership.objects.filter(user=user).select_related("org").order_by("org__name")


def team_list(*, org: Organization) -> QuerySet[Team]:
    """Teams with their member and key counts."""
    # Meta.ordering is not applied to GROUP BY queries, so the annotated list orders itself.
    return (
        Team.objects.for_org(org)
        .annotate(member_count=Count("memberships", distinct=True), key_count=Count("api_keys", distinct=True))
        .order_by("name")
    )


def team_get(*, org: Organization, team_id) -> Team:
    """One team of this organization, or 404."""
    return get_object_or_404(Team.objects.for_org(org), pk=team_id)


def membership_list(*, org: Organization) -> QuerySet[Membership]:
    """Members with their user and teams."""
    return Membership.objects.for_org(org).select_related("user").prefetch_related("teams").order_by("user__email")


def membership_get(*, org: Organization, membership_id) -> Membership:
    """One membership of this organization, or 404."""
    return get_object_or_404(Membership.objects.for_org(org).select_related("user", "org"), pk=membership_id)


def invitation_list(*, org: Organization) -> QuerySet[Invitation]:
    """Invitations, newest first."""
    return Invitation.objects.for_org(org).select_related("invited_by").prefetch_related("teams")


def invitation_get(*, org: Organization, invitation_id) -> Invitation:
    """One invitation of this organization, or 404."""
    return get_object_or_404(Invitation.objects.for_org(org).select_related("org"), pk=invitation_id)


def api_key_list(*, org: Organization, membership: Membership) -> QuerySet[ApiKey]:
    """The keys a member may see: all of them for admins and readers, their own for members."""
    qs = ApiKey.objects.for_org(org).select_related("user", "team", "created_by")
    if not membership.sees_all_keys:
        qs = qs.filter(user=membership.user)
    return qs


def api_key_get(*, org: Organization, membership: Membership, key_id) -> ApiKey:
    """One visible key, or 404."""
    return get_object_or_404(api_key_list(org=org, membership=membership).select_related("org"), pk=key_id)


def audit_log_list(*, org: Organization) -> QuerySet[AuditLog]:
    """The organization's audit trail, newest first."""
    return AuditLog.objects.for_org(org).select_related("actor")


def management_key_principal(*, key_hash: str) -> ApiKey:
    """The active management key with this hash, or Http404."""
    key = (
        ApiKey.objects.active()
        .select_related("org", "user")
        .filter(key_hash=key_hash, kind=ApiKeyKind.MANAGEMENT)
        .first()
    )
    if key is None:
        raise Http404
    return key
