"""Template context shared by every console page."""

from __future__ import annotations

from orgs.selectors import org_memberships_for_user


def console(request) -> dict:
    """The current org, membership and the org switcher's choices."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_org": getattr(request, "org", None),
        "current_membership": getattr(request, "membership", None),
        "switcher_memberships": org_memberships_for_user(user),
    }
