"""Console pages for tenancy: authorize, parse, call one service or selector, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from orgs import selectors, services
from orgs.console import actor_kwargs, confirm_action, form_data, form_page, render_page
from orgs.decorators import org_member_required, org_role_required
from orgs.forms import (
    ApiKeyForm,
    AuditTableFilter,
    InvitationForm,
    KeyTableFilter,
    OrganizationForm,
    OrgSettingsForm,
    RoleTeamsForm,
    SwitchOrgForm,
    TeamForm,
)
from orgs.middleware import SESSION_ORG_KEY, client_ip

AUDIT_PAGE_SIZE = 50


# Dashboard, onboarding and the org switcher


@org_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Quick stats and how to call the gateway."""
    stats = {
        "members": selectors.membership_list(org=request.org).count(),
        "teams": selectors.team_list(org=request.org).count(),
        "active_keys": selectors.api_key_list(org=request.org, membership=request.membership).active().count(),
    }
    base_url = settings.SITE_URL.rstrip("/") + "/v1"
    return render(request, "orgs/dashboard.html", {"stats": stats, "base_url": base_url})


@login_required
def onboarding(request: HttpRequest) -> HttpResponse:
    """A signed-in user creates an organization (their first, or another one)."""
    form = OrganizationForm(form_data(request))
    if form.is_valid() and (org := form.call(services.org_create, owner=request.user, ip=client_ip(request))):
        request.session[SESSION_ORG_KEY] = str(org.pk)
        messages.success(request, f"Welcome to {org.name}! Invite your team or create an API key to get started.")
        return redirect("orgs:dashboard")
    return render(request, "orgs/onboarding.html", {"form": form})


@require_POST
@org_member_required
def switch_org(request: HttpRequest) -> HttpResponse:
    """Make another of the user's organizations the current one."""
    form = SwitchOrgForm(request.POST)
    if not form.is_valid():
        raise Http404
    memberships = selectors.org_memberships_for_user(request.user)
    membership = get_object_or_404(memberships, org_id=form.cleaned_data["org"])
    request.session[SESSION_ORG_KEY] = str(membership.org_id)
    messages.success(request, f"Switched to {membership.org.name}.")
    return redirect("orgs:dashboard")


# Teams


@org_member_required
def team_list(request: HttpRequest) -> HttpResponse:
    """Teams with member and key counts."""
    return render(request, "orgs/team_list.html", {"teams": selectors.team_list(org=request.org)})


@org_role_required("is_manager")
def team_create(request: HttpRequest) -> HttpResponse:
    """Create a team."""
    form = TeamForm(form_data(request))
    if form.is_valid() and (team := form.call(services.team_create, org=request.org, **actor_kwargs(request))):
        messages.success(request, f"Team “{team.name}” created.")
        return redirect("orgs:team-list")
    return form_page(request, form, title="New team", submit="Create team", back=reverse("orgs:team-list"))


@org_role_required("is_manager")
def team_edit(request: HttpRequest, team_id) -> HttpResponse:
    """Rename or re-describe a team."""
    team = selectors.team_get(org=request.org, team_id=team_id)
    form = TeamForm(form_data(request), initial={"name": team.name, "description": team.description})
    if form.is_valid() and form.call(services.team_update, team=team, **actor_kwargs(request)):
        messages.success(request, f"Team “{team.name}” saved.")
        return redirect("orgs:team-list")
    return form_page(request, form, title=f"Edit {team.name}", submit="Save", back=reverse("orgs:team-list"))


@org_role_required("is_manager")
def team_delete(request: HttpRequest, team_id) -> HttpResponse:
    """Delete a team after confirmation."""
    team = selectors.team_get(org=request.org, team_id=team_id)
    return confirm_action(
        request,
        perform=lambda: services.team_delete(team=team, **actor_kwargs(request)),
        done=f"Team “{team.name}” deleted.",
        back=reverse("orgs:team-list"),
        title=f"Delete team “{team.name}”?",
        message="Its members stay in the organization and its API keys keep working, detached from the team.",
        action="Delete team",
    )


# Members and invitations


@org_member_required
def member_list(request: HttpRequest) -> HttpResponse:
    """Members with their roles and teams, and the invitations not yet accepted."""
    context = {
        "members": selectors.membership_list(org=request.org),
        "invitations": selectors.invitation_list(org=request.org).filter(accepted_at__isnull=True)[:50],
    }
    return render(request, "orgs/member_list.html", context)


@org_role_required("is_manager")
def member_invite(request: HttpRequest) -> HttpResponse:
    """Invite someone by email."""
    form = InvitationForm(form_data(request), org=request.org)
    if form.is_valid() and form.call(services.invitation_create, org=request.org, **actor_kwargs(request)):
        messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
        return redirect("orgs:member-list")
    intro = "They get an email with a link that is valid for 7 days."
    return form_page(
        request, form, title="Invite a member", submit="Send invitation", back=reverse("orgs:member-list"), intro=intro
    )


@org_role_required("is_manager")
def member_edit(request: HttpRequest, membership_id) -> HttpResponse:
    """Change a member's role and teams."""
    membership = selectors.membership_get(org=request.org, membership_id=membership_id)
    initial = {"role": membership.role, "teams": list(membership.teams.all())}
    form = RoleTeamsForm(form_data(request), org=request.org, initial=initial)
    if form.is_valid() and form.call(services.membership_update, membership=membership, **actor_kwargs(request)):
        messages.success(request, f"{membership.user.email} updated.")
        return redirect("orgs:member-list")
    title = f"Edit {membership.user.email}"
    return form_page(request, form, title=title, submit="Save", back=reverse("orgs:member-list"))


@org_role_required("is_manager")
def member_remove(request: HttpRequest, membership_id) -> HttpResponse:
    """Remove a member (and revoke their keys) after confirmation."""
    membership = selectors.membership_get(org=request.org, membership_id=membership_id)
    email = membership.user.email
    return confirm_action(
        request,
        perform=lambda: services.membership_remove(membership=membership, **actor_kwargs(request)),
        done=f"{email} was removed from {request.org.name}.",
        back=reverse("orgs:member-list"),
        title=f"Remove {email}?",
        message=f"They lose access to {request.org.name} and all their API keys here are revoked.",
        action="Remove member",
    )


@org_role_required("is_manager")
def invitation_revoke(request: HttpRequest, invitation_id) -> HttpResponse:
    """Withdraw a pending invitation after confirmation."""
    invitation = selectors.invitation_get(org=request.org, invitation_id=invitation_id)
    return confirm_action(
        request,
        perform=lambda: services.invitation_revoke(invitation=invitation, **actor_kwargs(request)),
        done=f"The invitation for {invitation.email} was revoked.",
        back=reverse("orgs:member-list"),
        title=f"Revoke the invitation for {invitation.email}?",
        message="The link in their email stops working. You can invite them again later.",
        action="Revoke invitation",
    )


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation email links to: sign up or log in, then accept."""
    if request.method == "POST" and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    invitation = services.invitation_for_token(token)
    error = None
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user, ip=client_ip(request))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            request.session[SESSION_ORG_KEY] = str(membership.org_id)
            messages.success(request, f"You joined {membership.org.name}.")
            return redirect("orgs:dashboard")
    wrong_email = bool(
        invitation and request.user.is_authenticated and invitation.email.lower() != request.user.email.lower()
    )
    context = {"invitation": invitation, "error": error, "wrong_email": wrong_email}
    status = 404 if invitation is None else 400 if error else 200
    return render(request, "orgs/invitation_accept.html", context, status=status)


# API keys


@org_member_required
def key_list(request: HttpRequest) -> HttpResponse:
    """Keys the member may see, filtered by status, team and owner."""
    keys = selectors.api_key_list(org=request.org, membership=request.membership)
    key_filter = KeyTableFilter(request.GET, queryset=keys, org=request.org, membership=request.membership)
    context = {"filter": key_filter, "keys": key_filter.qs, "filtered": any(request.GET.values())}
    return render_page(request, "orgs/key_list.html", context, partial="orgs/partials/key_table.html")


@never_cache
@org_role_required("can_create_keys")
def key_create(request: HttpRequest) -> HttpResponse:
    """Issue a key and show its secret once, in this response only."""
    form = ApiKeyForm(form_data(request), org=request.org, membership=request.membership)
    if form.is_valid():
        # A member's key is always theirs and always a gateway key; the form has no such fields for them.
        defaults = {} if request.membership.is_manager else {"user": request.user}
        created = form.call(services.api_key_create, org=request.org, **defaults, **actor_kwargs(request))
        if created:
            key, secret = created
            return render(request, "orgs/key_created.html", {"key": key, "secret": secret})
    return form_page(request, form, title="New API key", submit="Create key", back=reverse("orgs:key-list"))


@org_role_required("can_create_keys")
def key_revoke(request: HttpRequest, key_id) -> HttpResponse:
    """Revoke a key after confirmation; members only see, and so only revoke, their own."""
    key = selectors.api_key_get(org=request.org, membership=request.membership, key_id=key_id)
    return confirm_action(
        request,
        perform=lambda: services.api_key_revoke(key=key, **actor_kwargs(request)),
        done=f"Key “{key.name}” revoked.",
        back=reverse("orgs:key-list"),
        title=f"Revoke key “{key.name}”?",
        message="Requests with this key are refused within seconds. This cannot be undone.",
        action="Revoke key",
    )


# Audit log and settings


@org_member_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """The organization's audit trail, filtered and paginated."""
    log_filter = AuditTableFilter(request.GET, queryset=selectors.audit_log_list(org=request.org))
    page = Paginator(log_filter.qs, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter": log_filter, "page": page}
    return render_page(request, "orgs/audit_log.html", context, partial="orgs/partials/audit_table.html")


@org_role_required("is_manager", writes_only=True)
def org_settings(request: HttpRequest) -> HttpResponse:
    """The organization's name and billing email; read-only for everyone but owners and admins."""
    org = request.org
    form = OrgSettingsForm(form_data(request), initial={"name": org.name, "billing_email": org.billing_email})
    if form.is_valid() and form.call(services.org_update, org=org, **actor_kwargs(request)):
        messages.success(request, "Settings saved.")
        return redirect("orgs:settings")
    return render(request, "orgs/settings.html", {"form": form})
