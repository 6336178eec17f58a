"""Management API: org scoping, roles, authentication, validation, one-time key secrets, filters and schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from orgs.middleware import SESSION_ORG_KEY
from orgs.models import ApiKey, ApiKeyKind, AuditLog, Invitation, Membership, Role, Team, hash_secret
from orgs.services import api_key_revoke, membership_remove, membership_update
from tests.factories import MembershipFactory, TeamFactory, UserFactory, make_key

API = "/api/v1"


def fill(value, ids: dict):
    """Replace "{label}" placeholders (in strings, lists and dicts) with the labelled object's id."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def ids_of(response) -> set[str]:
    return {row["id"] for row in response.json()["results"]}


def management_key(user, org=None) -> str:
    org = org or Membership.objects.filter(user=user).first().org
    return make_key(org=org, user=user, name="api test", kind=ApiKeyKind.MANAGEMENT)[1]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The standing users' default PBKDF2 hashing costs most of each test's time; nothing here tests it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api():
    """A JSON API client: logged in with a session for `user`, or sending a bearer `token`."""

    def _client(user=None, *, token=None, mode="session"):
        client = APIClient()
        client.default_format = "json"
        if mode == "token":
            token = management_key(user)
        elif user is not None:
            client.force_login(user)
        if token is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return _client


@pytest.fixture
def target(org):
    """A plain member with a key: the object of member and key writes."""
    return MembershipFactory(org=org, user=UserFactory(email="target@acme.test"), role=Role.MEMBER)


@pytest.fixture
def objects(org, team, member, target):
    """One object of each kind in `org`, by label; their string ids are in objects["ids"]."""
    invitation = Invitation.objects.create(
        org=org, email="invitee@example.com", token_hash=hash_secret("tok"), expires_at=timezone.now() + timedelta(1)
    )
    key, _ = make_key(org=org, user=target.user, name="target key")
    audit = AuditLog.objects.for_org(org).get(action="api_key.create", object_id=str(key.pk))
    found = {"team": team, "membership": target, "invitation": invitation, "key": key, "audit": audit}
    found["ids"] = {label: str(obj.pk) for label, obj in found.items()} | {"target_email": target.user.email}
    return found


# -- the write matrix: (method, path, payload, status, audit action) ---------------------------------------

WRITES = {
    "org.update": ("patch", "/org/", {"name": "Acme Renamed"}, 200, "org.update"),
    "team.create": ("post", "/teams/", {"name": "Data", "description": "ML"}, 201, "team.create"),
    "team.patch": ("patch", "/teams/{team}/", {"name": "Platform 2"}, 200, "team.update"),
    "team.put": ("put", "/teams/{team}/", {"name": "Platform 2", "description": "Infra"}, 200, "team.update"),
    "team.delete": ("delete", "/teams/{team}/", None, 204, "team.delete"),
    "member.patch": (
        "patch",
        "/members/{membership}/",
        {"role": "viewer", "teams": ["{team}"]},
        200,
        "membership.update",
    ),
    "member.delete": ("delete", "/members/{membership}/", None, 204, "membership.remove"),
    "invitation.create": (
        "post",
        "/invitations/",
        {"email": "new@acme.test", "role": "billing", "teams": ["{team}"]},
        201,
        "invitation.create",
    ),
    "invitation.revoke": ("post", "/invitations/{invitation}/revoke/", None, 200, "invitation.revoke"),
    "key.create": ("post", "/keys/", {"name": "ci", "user": "{target_email}", "team": "{team}"}, 201, "api_key.create"),
    "key.revoke": ("post", "/keys/{key}/revoke/", None, 200, "api_key.revoke"),
}
OBJECT_OF = {"team": "team", "member": "membership", "invitation": "invitation", "key": "key"}
KEY_WRITES = {"key.create", "key.revoke"}


def send(client, op: str, ids: dict, **extra):
    method, path, payload, _, _ = WRITES[op]
    return getattr(client, method)(API + fill(path, ids), fill(payload, ids), **extra)


@pytest.mark.parametrize("op", WRITES)
@pytest.mark.parametrize(
    ("who", "mode"), [("owner", "session"), ("admin", "session"), ("owner", "token"), ("admin", "token")]
)
def test_managers_write_and_each_write_is_audited(request, api, org, objects, op, who, mode):
    user = request.getfixturevalue(who)
    client = api(user, mode=mode)
    before = list(AuditLog.objects.values_list("pk", flat=True))

    response = send(client, op, objects["ids"], HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")

    _, _, _, status, action = WRITES[op]
    assert response.status_code == status, response.content
    [row] = AuditLog.objects.exclude(pk__in=before)
    assert (row.org, row.action, row.actor, row.ip) == (org, action, user, "203.0.113.9")
    if op.endswith(".create"):
        assert row.object_id == response.json()["id"]
    elif op != "org.update":
        assert row.object_id == objects["ids"][OBJECT_OF[op.split(".")[0]]]


@pytest.mark.parametrize("op", WRITES)
@pytest.mark.parametrize("who", ["viewer", "billing_user", "member"])
def test_lower_roles_cannot_write(request, api, org, objects, op, who):
    user = request.getfixturevalue(who)
    before = AuditLog.objects.for_org(org).count()

    response = send(api(user), op, objects["ids"])

    # A member may manage keys, but only their own: someone else's is invisible to them (404).
    expected = {"key.revoke": 404}.get(op, 403) if who == "member" and op in KEY_WRITES else 403
    assert response.status_code == expected, response.content
    assert AuditLog.objects.for_org(org).count() == before
    assert ApiKey.objects.get(pk=objects["key"].pk).is_active


@pytest.mark.parametrize("mode", ["session", "token"])
@pytest.mark.parametrize(
    ("method", "label", "suffix", "payload"),
    [
        ("get", "team", "", None),
        ("patch", "team", "", {"name": "Stolen"}),
        ("put", "team", "", {"name": "Stolen"}),
        ("delete", "team", "", None),
        ("get", "membership", "", None),
        ("patch", "membership", "", {"role": "viewer"}),
        ("delete", "membership", "", None),
        ("get", "invitation", "", None),
        ("post", "invitation", "revoke/", None),
        ("get", "key", "", None),
        ("post", "key", "revoke/", None),
        ("get", "audit", "", None),
    ],
)
def test_outsider_gets_404_for_another_orgs_object(api, org, outsider, objects, mode, method, label, suffix, payload):
    obj = objects[label]
    path = {"team": "teams", "membership": "members", "invitation": "invitations", "key": "keys", "audit": "audit-log"}
    row_before = type(obj).objects.filter(pk=obj.pk).values().get()
    audits_before = AuditLog.objects.for_org(org).count()

    response = getattr(api(outsider, mode=mode), method)(f"{API}/{path[label]}/{obj.pk}/{suffix}", payload)

    assert response.status_code == 404, response.content
    assert type(obj).objects.filter(pk=obj.pk).values().get() == row_before
    assert AuditLog.objects.for_org(org).count() == audits_before


@pytest.mark.parametrize("mode", ["session", "token"])
@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/teams/", Team),
        ("/members/", Membership),
        ("/invitations/", Invitation),
        ("/keys/", ApiKey),
        ("/audit-log/", AuditLog),
    ],
)
def test_outsider_lists_show_only_their_own_org(api, org, other_org, outsider, other_team, objects, mode, path, model):
    Invitation.objects.create(
        org=other_org, email="x@globex.test", token_hash=hash_secret("g"), expires_at=timezone.now() + timedelta(1)
    )
    make_key(org=other_org, user=outsider)

    response = api(outsider, mode=mode).get(API + path)

    assert response.status_code == 200
    got = ids_of(response)
    assert got == {str(pk) for pk in model.objects.filter(org=other_org).values_list("pk", flat=True)}
    assert got and not got & {str(pk) for pk in model.objects.filter(org=org).values_list("pk", flat=True)}


@pytest.mark.parametrize("mode", ["session", "token"])
def test_org_endpoint_is_the_callers_own_org(api, org, other_org, owner, outsider, mode):
    client = api(outsider, mode=mode)
    assert client.get(f"{API}/org/").json()["id"] == str(other_org.pk)

    response = client.patch(f"{API}/org/", {"name": "Globex Corp", "billing_email": "ap@globex.test"})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["billing_email"]) == ("Globex Corp", "ap@globex.test")
    org.refresh_from_db()
    other_org.refresh_from_db()
    assert (org.name, other_org.name) == ("Acme", "Globex Corp")


@pytest.mark.parametrize("who", ["owner", "admin", "billing_user", "member", "viewer"])
@pytest.mark.parametrize("path", ["/org/", "/teams/", "/members/", "/invitations/", "/keys/", "/audit-log/"])
def test_reads_by_role(request, api, objects, who, path):
    response = api(request.getfixturevalue(who)).get(API + path)
    audit_forbidden = path == "/audit-log/" and who == "member"
    assert response.status_code == (403 if audit_forbidden else 200)
    if path == "/audit-log/":
        detail = api(request.getfixturevalue(who)).get(f"{API}/audit-log/{objects['audit'].pk}/")
        assert detail.status_code == (403 if audit_forbidden else 200)


# -- authentication ---------------------------------------------------------------------------------------


def test_password_session_login_and_management_token_both_authenticate(login, api, org, owner, management_token):
    assert login(owner).get(f"{API}/org/").json()["id"] == str(org.pk)
    assert api(token=management_token).get(f"{API}/org/").json()["id"] == str(org.pk)


def _gateway_key(org, owner):
    return make_key(org=org, user=owner, kind=ApiKeyKind.GATEWAY)[1]


def _revoked_key(org, owner):
    key, secret = make_key(org=org, user=owner, kind=ApiKeyKind.MANAGEMENT)
    api_key_revoke(key=key, actor=owner)
    return secret


def _expired_key(org, owner):
    key, secret = make_key(org=org, user=owner, kind=ApiKeyKind.MANAGEMENT)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return secret


@pytest.mark.parametrize(
    "header",
    [
        lambda org, owner: f"Bearer {_gateway_key(org, owner)}",
        lambda org, owner: f"Bearer {_revoked_key(org, owner)}",
        lambda org, owner: f"Bearer {_expired_key(org, owner)}",
        lambda org, owner: "Bearer rqk_not-a-real-key",
        lambda org, owner: "Bearer sk-something-else",
        lambda org, owner: "Bearer two words",
    ],
    ids=["gateway-kind", "revoked", "expired", "unknown", "foreign-format", "malformed"],
)
def test_bad_keys_get_401(org, owner, header):
    client = APIClient(HTTP_AUTHORIZATION=header(org, owner))
    response = client.get(f"{API}/teams/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/org/", "/teams/", "/members/", "/invitations/", "/keys/", "/audit-log/"])
def test_no_credentials_get_401(org, path):
    assert APIClient().get(API + path).status_code == 401


def test_a_key_fixes_the_org_and_a_session_follows_the_chosen_org(api, org, other_org, owner):
    MembershipFactory(org=other_org, user=owner, role=Role.ADMIN)
    token = management_key(owner, org=org)
    session = api(owner)
    store = session.session
    store[SESSION_ORG_KEY] = str(other_org.pk)
    store.save()

    assert session.get(f"{API}/org/").json()["id"] == str(other_org.pk)
    assert api(token=token).get(f"{API}/org/").json()["id"] == str(org.pk)


def test_a_key_follows_its_holders_current_role(api, org, owner, admin, team):
    token = management_key(admin, org=org)
    client = api(token=token)
    admin_membership = Membership.objects.get(org=org, user=admin)
    membership_update(membership=admin_membership, actor=owner, role=Role.VIEWER)

    assert client.get(f"{API}/teams/").status_code == 200
    assert client.post(f"{API}/teams/", {"name": "New"}).status_code == 403

    membership_remove(membership=admin_membership, actor=owner)
    assert client.get(f"{API}/teams/").status_code == 401


# -- validation errors name the field -----------------------------------------------------------------------


@pytest.fixture
def team_b(org):
    return TeamFactory(org=org, name="Backend")


@pytest.mark.parametrize(
    ("who", "method", "path", "payload", "field"),
    [
        ("owner", "post", "/teams/", {"name": "platform"}, "name"),
        ("owner", "post", "/teams/", {"name": "   "}, "name"),
        ("owner", "patch", "/teams/{team_b}/", {"name": " Platform "}, "name"),
        ("owner", "post", "/invitations/", {"email": "member@acme.test"}, "email"),
        ("owner", "post", "/invitations/", {"email": "invitee@example.com"}, "email"),
        ("owner", "post", "/invitations/", {"email": "not-an-email"}, "email"),
        ("owner", "post", "/invitations/", {"email": "n@acme.test", "role": "boss"}, "role"),
        ("admin", "post", "/invitations/", {"email": "n@acme.test", "role": "owner"}, "role"),
        ("owner", "post", "/invitations/", {"email": "n@acme.test", "teams": ["{other_team}"]}, "teams"),
        ("owner", "patch", "/members/{membership}/", {"role": "boss"}, "role"),
        ("owner", "patch", "/members/{membership}/", {"teams": ["{other_team}"]}, "teams"),
        ("owner", "patch", "/members/{owner_membership}/", {"role": "admin"}, "role"),
        ("admin", "patch", "/members/{owner_membership}/", {"role": "member"}, "role"),
        ("admin", "patch", "/members/{membership}/", {"role": "owner"}, "role"),
        ("owner", "post", "/keys/", {"name": "k", "user": "outsider@globex.test"}, "user"),
        ("owner", "post", "/keys/", {"name": "k", "user": "{outsider_membership}"}, "user"),
        ("owner", "post", "/keys/", {"name": "  "}, "name"),
        ("owner", "post", "/keys/", {"name": "k", "kind": "root"}, "kind"),
        ("owner", "post", "/keys/", {"name": "k", "user": "member@acme.test", "kind": "management"}, "kind"),
        ("member", "post", "/keys/", {"name": "k", "kind": "management"}, "kind"),
        ("owner", "post", "/keys/", {"name": "k", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ("owner", "post", "/keys/", {"name": "k", "team": "{other_team}"}, "team"),
        ("owner", "patch", "/org/", {"name": ""}, "name"),
        ("owner", "patch", "/org/", {"billing_email": "nope"}, "billing_email"),
        ("owner", "get", "/keys/?status=bogus", None, "status"),
        ("owner", "get", "/audit-log/?since=yesterday", None, "since"),
    ],
)
def test_validation_errors_name_the_field(
    request, api, org, owner, objects, team_b, other_team, outsider, who, method, path, payload, field
):
    ids = objects["ids"] | {
        "team_b": team_b.pk,
        "other_team": other_team.pk,
        "owner_membership": Membership.objects.get(org=org, user__email="owner@acme.test").pk,
        "outsider_membership": Membership.objects.get(user=outsider).pk,
    }
    before = AuditLog.objects.count()

    response = getattr(api(request.getfixturevalue(who)), method)(API + fill(path, ids), fill(payload, ids))

    assert response.status_code == 400, response.content
    assert list(response.json()) == [field], response.json()
    assert AuditLog.objects.count() == before


def test_service_errors_without_a_field_are_non_field_errors(api, org, owner, admin, objects):
    owner_membership = Membership.objects.get(org=org, user=owner)
    assert api(owner).delete(f"{API}/members/{owner_membership.pk}/").status_code == 400  # the last owner
    response = api(admin).delete(f"{API}/members/{owner_membership.pk}/")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()

    path = f"{API}/invitations/{objects['invitation'].pk}/revoke/"
    assert api(admin).post(path).status_code == 200
    again = api(admin).post(path)
    assert again.status_code == 400 and "already revoked" in again.json()["non_field_errors"][0]


# -- what writes do -------------------------------------------------------------------------------------


def test_team_patch_keeps_unsent_fields_and_counts(api, org, owner, member, team):
    Membership.objects.get(org=org, user=member).teams.add(team)
    Team.objects.filter(pk=team.pk).update(description="Infra")

    response = api(owner).patch(f"{API}/teams/{team.pk}/", {"name": "Platform eng"})

    assert response.json() | {"created_at": None} == {
        "id": str(team.pk),
        "name": "Platform eng",
        "description": "Infra",
        "member_count": 1,
        "key_count": 0,
        "created_at": None,
    }


def test_member_update_and_remove(api, org, owner, target, objects, team):
    client = api(owner)
    response = client.patch(f"{API}/members/{target.pk}/", {"role": "admin", "teams": [str(team.pk)]})
    assert response.json()["role"] == "admin" and response.json()["teams"] == [str(team.pk)]
    assert response.json()["email"] == "target@acme.test"

    assert client.delete(f"{API}/members/{target.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert ApiKey.objects.get(pk=objects["key"].pk).status == "revoked"


def test_invitation_create_sends_no_token_back(api, org, owner, team, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner).post(
            f"{API}/invitations/", {"email": "New@Acme.test", "role": "viewer", "teams": [str(team.pk)]}
        )

    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["role"], body["teams"], body["status"]) == (
        "new@acme.test",
        "viewer",
        [str(team.pk)],
        "pending",
    )
    assert body["invited_by"] == "owner@acme.test"
    assert "token" not in json.dumps(body)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new@acme.test"]


# -- keys: the plaintext once, members manage only their own -------------------------------------------------


def test_key_plaintext_is_returned_once_and_never_again(api, org, owner, member, team):
    client = api(owner)
    response = client.post(f"{API}/keys/", {"name": "support bot", "user": member.email, "team": str(team.pk)})

    assert response.status_code == 201
    created = response.json()
    plaintext = created["key"]
    key = ApiKey.objects.get(pk=created["id"])
    assert key.key_hash == hash_secret(plaintext) and plaintext.startswith("rqk_")
    assert (created["prefix"], created["user"], created["team"], created["kind"]) == (
        plaintext[:12],
        "member@acme.test",
        str(team.pk),
        "gateway",
    )
    assert (created["status"], created["created_by"]) == ("active", "owner@acme.test")
    for path in (f"/keys/{key.pk}/", "/keys/", "/audit-log/", f"/keys/{key.pk}/revoke/"):
        later = client.post(API + path) if path.endswith("revoke/") else client.get(API + path)
        assert later.status_code == 200
        text = later.content.decode()
        assert plaintext not in text and key.key_hash not in text and '"key"' not in text and "key_hash" not in text


def test_admin_issues_a_management_key_that_works(api, org, owner, admin):
    created = api(admin).post(f"{API}/keys/", {"name": "terraform", "user": owner.email, "kind": "management"})
    assert created.status_code == 201 and created.json()["kind"] == "management"
    assert created.json()["user"] == owner.email
    assert api(token=created.json()["key"]).get(f"{API}/org/").json()["id"] == str(org.pk)

    gateway = api(admin).post(f"{API}/keys/", {"name": "app"}).json()
    assert gateway["user"] == admin.email
    assert api(token=gateway["key"]).get(f"{API}/org/").status_code == 401


@pytest.mark.parametrize("ref", ["email", "member-id", "user-id"])
def test_key_owner_by_email_member_id_or_user_id(api, org, owner, member, ref):
    membership = Membership.objects.get(org=org, user=member)
    value = {"email": member.email.upper(), "member-id": str(membership.pk), "user-id": member.pk}[ref]
    response = api(owner).post(f"{API}/keys/", {"name": "k", "user": value})
    assert response.status_code == 201
    assert ApiKey.objects.get(pk=response.json()["id"]).user == member


def test_members_manage_only_their_own_keys(api, org, member, target, objects, team):
    Membership.objects.get(org=org, user=member).teams.add(team)
    client = api(member)
    own = client.post(f"{API}/keys/", {"name": "laptop", "team": str(team.pk)})
    named = client.post(f"{API}/keys/", {"name": "laptop 2", "user": member.email})
    assert (own.status_code, named.status_code) == (201, 201)
    assert own.json()["user"] == named.json()["user"] == member.email

    assert client.post(f"{API}/keys/", {"name": "theirs", "user": target.user.email}).status_code == 403
    assert not ApiKey.objects.filter(name="theirs").exists()
    assert ids_of(client.get(f"{API}/keys/")) == {own.json()["id"], named.json()["id"]}
    assert client.get(f"{API}/keys/{objects['key'].pk}/").status_code == 404

    revoked = client.post(f"{API}/keys/{own.json()['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert AuditLog.objects.for_org(org).filter(action="api_key.revoke", actor=member).count() == 1


# -- filters and pagination -----------------------------------------------------------------------------------


@pytest.fixture
def world(org, owner, admin, member, viewer, team):
    """Rows that each filter case should and should not match, by label."""
    now = timezone.now()
    rows: dict = {"team_platform": team}
    rows["team_data"] = TeamFactory(org=org, name="Data science")
    rows["team_ops"] = TeamFactory(org=org, name="Ops")
    for label, user in [("m_owner", owner), ("m_admin", admin), ("m_member", member), ("m_viewer", viewer)]:
        rows[label] = Membership.objects.get(org=org, user=user)
    rows["m_member"].teams.add(team)
    rows["m_admin"].teams.add(rows["team_data"])

    def invite(email, **state):
        expires = state.pop("expires_at", now + timedelta(days=1))
        return Invitation.objects.create(
            org=org, email=email, token_hash=hash_secret(email), expires_at=expires, **state
        )

    rows["inv_pending"] = invite("alice@example.com")
    rows["inv_accepted"] = invite("bob@example.com", accepted_at=now)
    rows["inv_revoked"] = invite("carol@example.com", revoked_at=now)
    rows["inv_expired"] = invite("alina@example.com", expires_at=now - timedelta(hours=1))

    rows["key_active"] = make_key(org=org, user=member, name="active", team=team)[0]
    rows["key_revoked"] = make_key(org=org, user=member, name="revoked")[0]
    api_key_revoke(key=rows["key_revoked"], actor=member)
    rows["key_expired"] = make_key(org=org, user=admin, name="expired", expires_at=now + timedelta(hours=1))[0]
    ApiKey.objects.filter(pk=rows["key_expired"].pk).update(expires_at=now - timedelta(hours=1))
    rows["key_mgmt"] = make_key(org=org, user=owner, name="mgmt", kind=ApiKeyKind.MANAGEMENT)[0]
    rows["key_data"] = make_key(org=org, user=admin, name="data", team=rows["team_data"])[0]

    def audit(action, actor, object_type, when):
        return AuditLog.objects.create(
            org=org, actor=actor, actor_email=actor.email, action=action, object_type=object_type, created_at=when
        )

    rows["audit_2020"] = audit("team.create", owner, "team", datetime(2020, 3, 1, tzinfo=UTC))
    rows["audit_2021"] = audit("team.delete", admin, "team", datetime(2021, 3, 1, tzinfo=UTC))
    rows["audit_2022"] = audit("membership.update", admin, "membership", datetime(2022, 3, 1, tzinfo=UTC))
    return rows


FILTER_CASES = [
    ("/teams/", "name=DATA", ["team_data"], ["team_platform", "team_ops"]),
    ("/members/", "role=admin", ["m_admin"], ["m_owner", "m_member", "m_viewer"]),
    ("/members/", "team={team_platform}", ["m_member"], ["m_admin", "m_owner", "m_viewer"]),
    ("/members/", "email=VIEW", ["m_viewer"], ["m_admin", "m_owner", "m_member"]),
    ("/invitations/", "status=pending", ["inv_pending"], ["inv_accepted", "inv_revoked", "inv_expired"]),
    ("/invitations/", "status=accepted", ["inv_accepted"], ["inv_pending", "inv_revoked", "inv_expired"]),
    ("/invitations/", "status=revoked", ["inv_revoked"], ["inv_pending", "inv_accepted", "inv_expired"]),
    ("/invitations/", "status=expired", ["inv_expired"], ["inv_pending", "inv_accepted", "inv_revoked"]),
    ("/invitations/", "email=ali", ["inv_pending", "inv_expired"], ["inv_accepted", "inv_revoked"]),
    ("/keys/", "status=active", ["key_active", "key_mgmt", "key_data"], ["key_revoked", "key_expired"]),
    ("/keys/", "status=revoked", ["key_revoked"], ["key_active", "key_expired", "key_mgmt"]),
    ("/keys/", "status=expired", ["key_expired"], ["key_active", "key_revoked", "key_mgmt"]),
    ("/keys/", "team={team_data}", ["key_data"], ["key_active", "key_revoked", "key_mgmt"]),
    ("/keys/", "user=member@acme.test", ["key_active", "key_revoked"], ["key_expired", "key_mgmt", "key_data"]),
    ("/keys/", "user={m_admin}", ["key_expired", "key_data"], ["key_active", "key_mgmt"]),
    ("/keys/", "kind=management", ["key_mgmt"], ["key_active", "key_data"]),
    ("/audit-log/", "action=team.delete", ["audit_2021"], ["audit_2020", "audit_2022"]),
    ("/audit-log/", "actor=ADMIN@acme.test", ["audit_2021", "audit_2022"], ["audit_2020"]),
    ("/audit-log/", "object_type=membership", ["audit_2022"], ["audit_2020", "audit_2021"]),
    (
        "/audit-log/",
        "since=2021-01-01T00:00:00Z&until=2022-01-01T00:00:00Z",
        ["audit_2021"],
        ["audit_2020", "audit_2022"],
    ),
    ("/audit-log/", "until=2021-01-01T00:00:00%2B00:00", ["audit_2020"], ["audit_2021", "audit_2022"]),
    ("/audit-log/", "since=2022-01-01T00:00:00Z", ["audit_2022"], ["audit_2020", "audit_2021"]),
]


@pytest.mark.parametrize(
    ("path", "query", "match", "no_match"), FILTER_CASES, ids=[f"{c[0]}?{c[1]}" for c in FILTER_CASES]
)
def test_filters(api, owner, world, path, query, match, no_match):
    ids = {label: str(obj.pk) for label, obj in world.items()}
    client = api(owner)

    got = ids_of(client.get(f"{API}{path}?{fill(query, ids)}"))

    assert {ids[label] for label in match} <= got
    assert not got & {ids[label] for label in no_match}
    assert {ids[label] for label in no_match} <= ids_of(client.get(API + path))


def test_pagination(api, org, owner):
    Team.objects.bulk_create(Team(org=org, name=f"Team {n:03}") for n in range(55))
    client = api(owner)

    first = client.get(f"{API}/teams/").json()
    second = client.get(f"{API}/teams/?page=2").json()

    assert (first["count"], len(first["results"]), first["previous"]) == (55, 50, None)
    assert first["next"].endswith("/api/v1/teams/?page=2")
    assert (len(second["results"]), second["next"]) == (5, None)
    names = [t["name"] for t in first["results"] + second["results"]]
    assert names == sorted(names) and len(set(names)) == 55
    assert client.get(f"{API}/teams/?page=3").status_code == 404


@pytest.mark.parametrize("path", ["/teams/", "/members/", "/invitations/", "/keys/", "/audit-log/"])
def test_list_queries_do_not_grow_with_rows(api, org, owner, world, team, path):
    client = api(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(API + path).status_code == 200
        return len(captured)

    before = queries()
    for n in range(3):
        membership = MembershipFactory(org=org, user=UserFactory(), role=Role.MEMBER)
        membership.teams.add(TeamFactory(org=org), team)
        make_key(org=org, user=membership.user, team=team)
        invitation = Invitation.objects.create(
            org=org, email=f"n{n}@example.com", token_hash=hash_secret(f"n{n}"), expires_at=timezone.now()
        )
        invitation.teams.add(team)
    assert queries() == before


# -- schema and docs -------------------------------------------------------------------------------------------


def test_schema_is_valid_openapi_covering_every_endpoint(client, db):
    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    assert {
        "/api/v1/org/",
        "/api/v1/teams/",
        "/api/v1/teams/{id}/",
        "/api/v1/members/",
        "/api/v1/members/{id}/",
        "/api/v1/invitations/",
        "/api/v1/invitations/{id}/",
        "/api/v1/invitations/{id}/revoke/",
        "/api/v1/keys/",
        "/api/v1/keys/{id}/",
        "/api/v1/keys/{id}/revoke/",
        "/api/v1/audit-log/",
        "/api/v1/audit-log/{id}/",
    } <= set(schema["paths"])
    assert "key_hash" not in response.content.decode()
    assert "key" in schema["components"]["schemas"]["ApiKeyCreated"]["properties"]
    assert "key" not in schema["components"]["schemas"]["ApiKey"]["properties"]


def test_schema_generates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_docs_page_renders(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content


def test_malformed_ids_get_json_404s(api, owner):
    response = api(owner).get(f"{API}/teams/not-a-uuid/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
