"""Resolve the current organization once per console request."""

from __future__ import annotations

from orgs.models import Membership

SESSION_ORG_KEY = "current_org_id"


class OrgMiddleware:
    """Sets request.org and request.membership from the session's chosen organization."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.org = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = Membership.objects.filter(user=user).select_related("org")
            wanted = request.session.get(SESSION_ORG_KEY)
            membership = None
            if wanted:
                membership = memberships.filter(org_id=wanted).first()
            if membership is None:
                membership = memberships.order_by("created_at").first()
            if membership is not None:
                request.org = membership.org
                request.membership = membership
        return self.get_response(request)


def client_ip(request) -> str | None:
    """The client's address, trusting X-Forwarded-For only from the load balancer's first hop."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None
