"""Console access: who may open a page, and who may write through it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Membership properties a view may require, and what a member without it is told.
PERMISSION_MESSAGES = {
    "is_manager": "Only owners and admins can do this.",
    "is_owner": "Only owners can do this.",
    "can_create_keys": "Your role can't create or revoke API keys.",
    "can_view_spend": "Your role can't see spend.",
}


def _go(request, url: str):
    # An htmx request would swap the login page into a table; make the browser navigate instead.
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def org_role_required(permission: str | None = None, *, writes_only: bool = False) -> Callable:
    """Guard a console view.

    Anonymous users go to the login page (with ?next=), users without an organization go to onboarding,
    and a member whose Membership lacks `permission` (a property such as "is_manager") gets the 403 page;
    with writes_only=True, reading (GET/HEAD) is open to every member and only writes need the permission.
    """
    if permission is not None and permission not in PERMISSION_MESSAGES:
        raise ValueError(f"Unknown console permission {permission!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return _go(request, redirect_to_login(request.get_full_path()).url)
            if request.membership is None:
                return _go(request, reverse("orgs:onboarding"))
            if permission and not (writes_only and request.method in SAFE_METHODS):
                if not getattr(request.membership, permission):
                    raise PermissionDenied(PERMISSION_MESSAGES[permission])
            return view(request, *args, **kwargs)

        return guarded

    return decorator


org_member_required = org_role_required()
