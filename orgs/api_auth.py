"""Management API authentication, org resolution and error shape."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from orgs.middleware import SESSION_ORG_KEY
from orgs.models import API_KEY_PREFIX, Membership, hash_secret
from orgs.selectors import management_key_principal


class ManagementTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer rqk_...` with a management key; the key fixes the organization."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        token = parts[1].decode(errors="replace")
        if not token.startswith(API_KEY_PREFIX):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        try:
            key = management_key_principal(key_hash=hash_secret(token))
        except Http404:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired management key.") from None
        return key.user, key

    def authenticate_header(self, request):
        return "Bearer"


def resolve_api_membership(request) -> Membership:
    """The caller's membership: the key's organization, or the session's chosen one."""
    key = getattr(request, "auth", None)
    if key is not None and hasattr(key, "org_id"):
        membership = Membership.objects.filter(org_id=key.org_id, user=request.user).select_related("org").first()
    else:
        memberships = Membership.objects.filter(user=request.user).select_related("org")
        wanted = request.session.get(SESSION_ORG_KEY) if hasattr(request, "session") else None
        membership = (memberships.filter(org_id=wanted).first() if wanted else None) or memberships.first()
    if membership is None:
        raise exceptions.PermissionDenied("You are not a member of any organization.")
    return membership


class OrgRolePermission(permissions.BasePermission):
    """Reads need membership; writes need a manager role unless the view says otherwise."""

    def has_permission(self, request, view):
        membership = resolve_api_membership(request)
        request.membership = membership
        request.org = membership.org
        if request.method in permissions.SAFE_METHODS:
            return True
        allowed = getattr(view, "write_roles", None)
        if allowed is None:
            return membership.is_manager
        return membership.role in allowed
