"""Console pages: access rules for every view, the happy paths, invitations, key reveal and the org switcher."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from orgs.middleware import SESSION_ORG_KEY
from orgs.models import ApiKey, ApiKeyKind, AuditLog, Invitation, Membership, Organization, Role, Team, hash_secret
from orgs.services import invitation_create
from tests.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory, make_key

LOGIN_URL = reverse("account_login")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Hash the standing users' passwords cheaply; these tests log in a lot."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def objs(org, owner, admin, member, team):
    """One of each object the console addresses by id, all in `org`."""
    invitation, token = invitation_create(org=org, actor=owner, email="invitee@acme.test")
    key, _ = make_key(org=org, user=member, name="member key", team=team)
    membership = Membership.objects.get(org=org, user=member)
    return SimpleNamespace(team=team, invitation=invitation, key=key, membership=membership, token=token)


# (url name, the object it addresses) for every view of an organization's objects.
OBJECT_VIEWS = [
    ("orgs:team-edit", "team"),
    ("orgs:team-delete", "team"),
    ("orgs:member-edit", "membership"),
    ("orgs:member-remove", "membership"),
    ("orgs:invitation-revoke", "invitation"),
    ("orgs:key-revoke", "key"),
]
PAGE_VIEWS = [
    "orgs:dashboard",
    "orgs:team-list",
    "orgs:team-create",
    "orgs:member-list",
    "orgs:member-invite",
    "orgs:key-list",
    "orgs:key-create",
    "orgs:audit-log",
    "orgs:settings",
]
READ_VIEWS = [name for name in PAGE_VIEWS if not name.endswith(("-create", "-invite"))]
ROLES = ["owner", "admin", "billing_user", "member", "viewer"]


def url_for(objs, name, attr=None):
    return reverse(name, args=[getattr(objs, attr).pk]) if attr else reverse(name)


def audited(org, action) -> bool:
    return AuditLog.objects.filter(org=org, action=action).exists()


# Access rules


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "name,attr", [(n, None) for n in [*PAGE_VIEWS, "orgs:switch-org", "orgs:onboarding"]] + OBJECT_VIEWS
)
def test_anonymous_is_sent_to_login(client, objs, method, name, attr):
    url = url_for(objs, name, attr)
    response = getattr(client, method)(url)
    if name == "orgs:switch-org" and method == "get":
        assert response.status_code == 405
        return
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL) and "next=" in response["Location"]


def test_anonymous_htmx_request_gets_a_client_redirect(client):
    response = client.get(reverse("orgs:key-list"), headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"].startswith(LOGIN_URL)


@pytest.mark.parametrize("name", PAGE_VIEWS)
def test_user_without_org_is_sent_to_onboarding(db, login, name):
    client = login(UserFactory(email="lonely@example.com"))
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"] == reverse("orgs:onboarding")


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name,attr", OBJECT_VIEWS)
def test_outsider_gets_404_for_another_orgs_objects(login, outsider, objs, method, name, attr):
    client = login(outsider)
    response = getattr(client, method)(url_for(objs, name, attr), {"name": "x", "role": Role.VIEWER})
    assert response.status_code == 404
    assert Team.objects.filter(pk=objs.team.pk, name="Platform").exists()
    assert Membership.objects.get(pk=objs.membership.pk).role == Role.MEMBER
    assert Invitation.objects.get(pk=objs.invitation.pk).status == "pending"
    assert ApiKey.objects.get(pk=objs.key.pk).is_active


def test_unknown_ids_are_404(login, owner):
    client = login(owner)
    assert client.get(reverse("orgs:team-edit", args=[uuid.uuid4()])).status_code == 404
    assert client.get(reverse("orgs:key-revoke", args=[uuid.uuid4()])).status_code == 404


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", READ_VIEWS)
def test_every_role_can_read(request, login, objs, role, name):
    client = login(request.getfixturevalue(role))
    assert client.get(reverse(name)).status_code == 200


MANAGER_WRITES = [(n, None) for n in ["orgs:team-create", "orgs:member-invite", "orgs:settings"]] + OBJECT_VIEWS[:-1]
KEY_WRITES = [("orgs:key-create", None), ("orgs:key-revoke", "key")]


@pytest.mark.parametrize(
    "role,name,attr",
    [(role, name, attr) for role in ["billing_user", "member", "viewer"] for name, attr in MANAGER_WRITES]
    + [(role, name, attr) for role in ["billing_user", "viewer"] for name, attr in KEY_WRITES],
)
def test_lower_roles_cannot_write(request, login, org, objs, role, name, attr):
    client = login(request.getfixturevalue(role))
    url = url_for(objs, name, attr)
    data = {"name": "Hacked", "email": "x@acme.test", "role": Role.OWNER, "billing_email": "x@acme.test"}
    response = client.post(url, data)
    assert response.status_code == 403
    assert "t have access to this" in response.content.decode()
    if name != "orgs:settings":
        assert client.get(url).status_code == 403
    org.refresh_from_db()
    assert org.name == "Acme" and not Team.objects.filter(name="Hacked").exists()
    assert Membership.objects.get(pk=objs.membership.pk).role == Role.MEMBER
    assert ApiKey.objects.get(pk=objs.key.pk).is_active
    assert Invitation.objects.for_org(org).count() == 1


# Teams


def test_team_create_edit_delete(login, org, admin):
    client = login(admin)
    response = client.post(reverse("orgs:team-create"), {"name": "Data", "description": "Analytics"})
    assert response.status_code == 302
    team = Team.objects.get(org=org, name="Data")
    assert audited(org, "team.create")

    response = client.post(reverse("orgs:team-edit", args=[team.pk]), {"name": "Data science", "description": ""})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "Data science" and audited(org, "team.update")

    confirm = client.get(reverse("orgs:team-delete", args=[team.pk]))
    assert confirm.status_code == 200 and "Delete team" in confirm.content.decode()
    assert Team.objects.filter(pk=team.pk).exists()
    response = client.post(reverse("orgs:team-delete", args=[team.pk]))
    assert response.status_code == 302 and not Team.objects.filter(pk=team.pk).exists()
    assert audited(org, "team.delete")
    assert "deleted" in client.get(response["Location"]).content.decode()


def test_team_errors_show_inline(login, owner, team):
    client = login(owner)
    response = client.post(reverse("orgs:team-create"), {"name": "platform"})
    assert response.status_code == 200
    assert "A team with this name already exists." in response.content.decode()
    response = client.post(reverse("orgs:team-create"), {"name": ""})
    assert response.status_code == 200 and "field-error" in response.content.decode()
    assert Team.objects.count() == 1


def test_team_list_shows_counts_and_empty_state(login, org, owner, member):
    client = login(owner)
    assert "No teams yet" in client.get(reverse("orgs:team-list")).content.decode()
    team = TeamFactory(org=org, name="Support")
    Membership.objects.get(user=member).teams.add(team)
    make_key(org=org, user=member, team=team)
    page = client.get(reverse("orgs:team-list")).content.decode()
    assert "Support" in page and "No teams yet" not in page


@pytest.mark.parametrize("name,attr", [v for v in OBJECT_VIEWS if not v[0].endswith("-edit")])
def test_confirmations_render_as_a_dialog_partial_for_htmx(login, owner, objs, name, attr):
    response = login(owner).get(url_for(objs, name, attr), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert f'action="{url_for(objs, name, attr)}"' in body and "csrfmiddlewaretoken" in body


# Members and invitations


def test_invite_sends_email_and_lists_pending(login, org, admin, team, django_capture_on_commit_callbacks):
    client = login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orgs:member-invite"), {"email": "New@Acme.test", "role": Role.MEMBER, "teams": [team.pk]}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get(org=org, email="new@acme.test")
    assert list(invitation.teams.all()) == [team] and audited(org, "invitation.create")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@acme.test"]
    assert "/console/invitations/" in mail.outbox[0].body
    page = client.get(reverse("orgs:member-list")).content.decode()
    assert "new@acme.test" in page and "Pending" in page


def test_admin_cannot_grant_owner(login, org, admin, objs):
    client = login(admin)
    response = client.post(reverse("orgs:member-invite"), {"email": "boss@acme.test", "role": Role.OWNER})
    assert response.status_code == 200 and "Only an owner can grant the owner role." in response.content.decode()
    assert not Invitation.objects.filter(email="boss@acme.test").exists()

    response = client.post(reverse("orgs:member-edit", args=[objs.membership.pk]), {"role": Role.OWNER})
    assert response.status_code == 200 and "Only an owner can grant the owner role." in response.content.decode()
    assert Membership.objects.get(pk=objs.membership.pk).role == Role.MEMBER


def test_member_edit_changes_role_and_teams(login, org, owner, objs):
    other = TeamFactory(org=org, name="Research")
    response = login(owner).post(
        reverse("orgs:member-edit", args=[objs.membership.pk]), {"role": Role.VIEWER, "teams": [other.pk]}
    )
    assert response.status_code == 302
    objs.membership.refresh_from_db()
    assert objs.membership.role == Role.VIEWER and list(objs.membership.teams.all()) == [other]
    assert audited(org, "membership.update")


def test_member_edit_refuses_another_orgs_team(login, owner, objs, other_team):
    before = set(objs.membership.teams.all())
    response = login(owner).post(
        reverse("orgs:member-edit", args=[objs.membership.pk]), {"role": Role.MEMBER, "teams": [other_team.pk]}
    )
    assert response.status_code == 200 and "field-error" in response.content.decode()
    assert set(objs.membership.teams.all()) == before and other_team not in before


def test_member_remove_revokes_their_keys(login, org, admin, objs):
    response = login(admin).post(reverse("orgs:member-remove", args=[objs.membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=objs.membership.pk).exists()
    assert ApiKey.objects.get(pk=objs.key.pk).status == "revoked" and audited(org, "membership.remove")


def test_admin_cannot_remove_an_owner(login, org, owner, admin):
    owner_membership = Membership.objects.get(org=org, user=owner)
    response = login(admin).post(reverse("orgs:member-remove", args=[owner_membership.pk]))
    assert response.status_code == 400 and "Only an owner can remove an owner." in response.content.decode()
    assert Membership.objects.filter(pk=owner_membership.pk).exists()


def test_invitation_revoke(login, org, owner, objs):
    response = login(owner).post(reverse("orgs:invitation-revoke", args=[objs.invitation.pk]))
    assert response.status_code == 302
    assert Invitation.objects.get(pk=objs.invitation.pk).status == "revoked" and audited(org, "invitation.revoke")


def test_invitation_accept_flow(client, login, org, owner, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        login(owner).post(
            reverse("orgs:member-invite"), {"email": "joiner@acme.test", "role": "admin", "teams": [team.pk]}
        )
    link = re.search(r"https?://\S+/console/invitations/\S+/", mail.outbox[0].body).group(0)
    path = urlparse(link).path
    client.logout()

    page = client.get(path).content.decode()
    assert "Join Acme" in page and f"next={path}" in page.replace("%2F", "/")
    assert client.post(path)["Location"].startswith(LOGIN_URL)

    # Signing up through allauth with ?next= comes back to the invitation, not to onboarding.
    response = client.post(
        reverse("account_signup"),
        {"email": "joiner@acme.test", "password1": PASSWORD, "password2": PASSWORD, "next": path},
    )
    assert response.status_code == 302 and response["Location"] == path
    assert "Accept and join Acme" in client.get(path).content.decode()

    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == reverse("orgs:dashboard")
    membership = Membership.objects.get(org=org, user__email="joiner@acme.test")
    assert membership.role == Role.ADMIN and list(membership.teams.all()) == [team]
    assert client.session[SESSION_ORG_KEY] == str(org.pk) and audited(org, "invitation.accept")
    response = client.post(path)
    assert response.status_code == 400 and "already used" in response.content.decode()


def test_invitation_wrong_email_expired_revoked_and_invalid(login, org, owner, member):
    _, wrong = invitation_create(org=org, actor=owner, email="someone-else@acme.test")
    expired, expired_token = invitation_create(org=org, actor=owner, email="late@acme.test")
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    revoked, revoked_token = invitation_create(org=org, actor=owner, email="revoked@acme.test")
    Invitation.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    late_user = UserFactory(email="late@acme.test")
    revoked_user = UserFactory(email="revoked@acme.test")

    client = login(member)
    url = reverse("orgs:invitation-accept", args=[wrong])
    assert "this invitation was sent to" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 400 and "different email address" in response.content.decode()

    for user, token, state in [(late_user, expired_token, "has expired"), (revoked_user, revoked_token, "was revoked")]:
        client = login(user)
        url = reverse("orgs:invitation-accept", args=[token])
        assert f"This invitation {state}" in client.get(url).content.decode()
        assert client.post(url).status_code == 400
        assert not Membership.objects.filter(org=org, user=user).exists()

    response = client.get(reverse("orgs:invitation-accept", args=["not-a-real-token"]))
    assert response.status_code == 404 and "Invitation not found" in response.content.decode()


# API keys


def test_key_reveal_shows_the_secret_once(login, org, member, team):
    Membership.objects.get(org=org, user=member).teams.add(team)
    client = login(member)
    response = client.post(reverse("orgs:key-create"), {"name": "laptop", "team": team.pk})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    body = response.content.decode()
    secret = re.search(r'value="(rqk_[^"]+)"', body).group(1)
    assert body.count(secret) == 1 and "will not be shown again" in body
    key = ApiKey.objects.get(org=org, name="laptop")
    assert key.key_hash == hash_secret(secret) and key.user == member and key.team == team
    assert key.kind == ApiKeyKind.GATEWAY and audited(org, "api_key.create")

    listing = client.get(reverse("orgs:key-list")).content.decode()
    assert secret not in listing and f"{key.prefix}…" in listing
    assert secret not in str(dict(client.session)) and secret not in str(AuditLog.objects.values_list("after"))


def test_member_key_is_always_their_own_gateway_key(login, org, owner, member):
    client = login(member)
    client.post(reverse("orgs:key-create"), {"name": "sneaky", "user": owner.pk, "kind": ApiKeyKind.MANAGEMENT})
    key = ApiKey.objects.get(name="sneaky")
    assert key.user == member and key.kind == ApiKeyKind.GATEWAY


def test_admin_creates_keys_for_others_and_errors_show_inline(login, org, admin, member):
    client = login(admin)
    response = client.post(reverse("orgs:key-create"), {"name": "bot", "user": member.pk, "kind": "gateway"})
    assert response.status_code == 200 and ApiKey.objects.get(name="bot").user == member

    response = client.post(reverse("orgs:key-create"), {"name": "ops", "user": member.pk, "kind": "management"})
    assert "Management keys can only belong to an owner or admin." in response.content.decode()
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    response = client.post(
        reverse("orgs:key-create"), {"name": "old", "user": admin.pk, "kind": "gateway", "expires_at": yesterday}
    )
    assert "The expiry must be in the future." in response.content.decode()
    assert not ApiKey.objects.filter(name__in=["ops", "old"]).exists()


def test_key_revoke_rules(login, org, admin, member, objs):
    admin_key, _ = make_key(org=org, user=admin, name="admin key")
    client = login(member)
    assert client.post(reverse("orgs:key-revoke", args=[admin_key.pk])).status_code == 404
    assert ApiKey.objects.get(pk=admin_key.pk).is_active

    response = client.post(reverse("orgs:key-revoke", args=[objs.key.pk]))
    assert response.status_code == 302 and ApiKey.objects.get(pk=objs.key.pk).status == "revoked"
    assert audited(org, "api_key.revoke")

    assert login(admin).post(reverse("orgs:key-revoke", args=[admin_key.pk])).status_code == 302
    assert ApiKey.objects.get(pk=admin_key.pk).status == "revoked"


def test_key_list_visibility_and_filters(login, org, owner, member, team):
    own, _ = make_key(org=org, user=member, name="mine", team=team)
    theirs, _ = make_key(org=org, user=owner, name="owners")
    gone, _ = make_key(org=org, user=owner, name="gone")
    login(owner).post(reverse("orgs:key-revoke", args=[gone.pk]))

    page = login(member).get(reverse("orgs:key-list")).content.decode()
    assert "mine" in page and "owners" not in page

    client = login(owner)

    def names(**params):
        response = client.get(reverse("orgs:key-list"), params, headers={"HX-Request": "true"})
        body = response.content.decode()
        assert '<div id="key-table"' in body and "<html" not in body
        return {k.name for k in ApiKey.objects.all() if f"<strong>{k.name}</strong>" in body}

    assert names() == {"mine", "owners", "gone"}
    assert names(status="revoked") == {"gone"}
    assert names(status="active") == {"mine", "owners"}
    assert names(team=team.pk) == {"mine"}
    assert names(user=member.email) == {"mine"}
    assert "No keys match" in client.get(reverse("orgs:key-list"), {"status": "expired"}).content.decode()


# Audit log, settings, org switcher, onboarding


def test_audit_log_filters_and_pagination(login, org, owner, team):
    rows = [AuditLog(org=org, actor_email="bot@acme.test", action="team.update", object_type="team") for _ in range(60)]
    AuditLog.objects.bulk_create(rows)
    AuditLog.objects.create(
        org=org,
        actor_email="owner@acme.test",
        action="org.update",
        object_type="organization",
        before={"name": "Old"},
        after={"name": "Acme"},
        created_at=timezone.now() - timedelta(days=10),
    )
    client = login(owner)
    url = reverse("orgs:audit-log")

    def count(response):
        return response.content.decode().count('<code class="action">')

    assert count(client.get(url)) == 50
    assert count(client.get(url, {"page": 2})) == 11
    assert count(client.get(url, {"action": "org.update"})) == 1
    assert count(client.get(url, {"actor": "OWNER@"})) == 1
    assert count(client.get(url, {"object_type": "organization"})) == 1
    old_day = (timezone.now() - timedelta(days=10)).date().isoformat()
    assert count(client.get(url, {"date_from": old_day, "date_to": old_day})) == 1
    body = client.get(url, {"action": "org.update"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in body and "<del>Old</del>" in body
    assert "page=2" in client.get(url).content.decode()


def test_settings_update_and_read_only(login, org, owner, viewer):
    response = login(owner).post(reverse("orgs:settings"), {"name": "Acme Inc", "billing_email": "ap@acme.test"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.billing_email) == ("Acme Inc", "ap@acme.test") and audited(org, "org.update")
    page = login(viewer).get(reverse("orgs:settings")).content.decode()
    assert "Acme Inc" in page and "Only owners and admins can change" in page and 'name="billing_email"' not in page


def test_org_switcher(login, org, other_org, owner):
    MembershipFactory(org=other_org, user=owner, role=Role.VIEWER)
    third = Organization.objects.create(name="Initech", slug="initech")
    client = login(owner)
    assert "Acme" in client.get(reverse("orgs:dashboard")).content.decode()

    response = client.post(reverse("orgs:switch-org"), {"org": other_org.pk})
    assert response.status_code == 302 and client.session[SESSION_ORG_KEY] == str(other_org.pk)
    page = client.get(reverse("orgs:settings")).content.decode()
    assert "Globex" in page and "Only owners and admins can change" in page

    assert client.post(reverse("orgs:switch-org"), {"org": third.pk}).status_code == 404
    assert client.post(reverse("orgs:switch-org"), {"org": "nope"}).status_code == 404
    assert client.session[SESSION_ORG_KEY] == str(other_org.pk)


def test_onboarding_creates_an_org(db, login):
    user = UserFactory(email="founder@example.com")
    client = login(user)
    assert client.get(reverse("orgs:dashboard"))["Location"] == reverse("orgs:onboarding")
    response = client.post(reverse("orgs:onboarding"), {"name": "  "})
    assert response.status_code == 200 and "field-error" in response.content.decode()
    response = client.post(reverse("orgs:onboarding"), {"name": "Founders"})
    assert response.status_code == 302
    org = Organization.objects.get(name="Founders")
    assert Membership.objects.get(org=org, user=user).role == Role.OWNER
    assert client.session[SESSION_ORG_KEY] == str(org.pk)
    assert "Founders" in client.get(reverse("orgs:dashboard")).content.decode()


def test_dashboard_stats_and_get_started(login, org, owner, member, team):
    make_key(org=org, user=member)
    page = login(owner).get(reverse("orgs:dashboard")).content.decode()
    assert 'data-stat="members">2<' in page and 'data-stat="teams">1<' in page and 'data-stat="active_keys">1<' in page
    assert "http://127.0.0.1:8000/v1/chat/completions" in page
    assert "Spend and latency charts arrive with analytics" in page


def test_login_page_uses_our_layout(client):
    page = client.get(LOGIN_URL).content.decode()
    assert "css/app.css" in page and 'name="viewport"' in page
