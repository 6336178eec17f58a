"""createorg and createapikey: the printed key works, bad input is a CommandError."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orgs.models import ApiKey, ApiKeyKind, AuditLog, Membership, Organization, Role, User, hash_secret
from tests.factories import PASSWORD, OrganizationFactory


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def printed_key(output: str) -> ApiKey:
    """The one key the output shows, looked up by its hash (so the plaintext printed is the real one)."""
    [secret] = re.findall(r"rqk_[\w-]+", output)
    return ApiKey.objects.select_related("org", "user", "team").get(key_hash=hash_secret(secret))


def test_createorg_creates_owner_org_and_a_working_key(db):
    output = run("createorg", "Initech", "--owner", "Peter@Initech.test", "--password", "tps-report-2024")

    org = Organization.objects.get(name="Initech")
    user = User.objects.get(email="peter@initech.test")
    assert user.check_password("tps-report-2024") and "tps-report-2024" not in output
    assert Membership.objects.get(org=org, user=user).role == Role.OWNER
    key = printed_key(output)
    assert (key.org, key.user, key.kind, key.is_active) == (org, user, ApiKeyKind.GATEWAY, True)
    assert set(AuditLog.objects.for_org(org).values_list("action", flat=True)) == {"org.create", "api_key.create"}
    assert org.slug in output


def test_createorg_prints_a_random_password_once_for_a_new_user(db):
    output = run("createorg", "Hooli", "--owner", "gavin@hooli.test")

    [password] = re.findall(r"Password \(shown once\): (\S+)", output)
    assert User.objects.get(email="gavin@hooli.test").check_password(password)
    printed_key(output)


def test_createorg_reuses_an_existing_user_and_keeps_their_password(owner):
    output = run("createorg", "Acme Labs", "--owner", owner.email, "--password", "something-else-42")

    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    assert "Password (shown once)" not in output and "ignored" in output
    assert printed_key(output).org == Organization.objects.get(name="Acme Labs")
    assert Organization.objects.filter(name="Acme").exists() and Organization.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   ", "--owner", "a@b.test"], "needs a name"),
        (["Initech", "--owner", "not-an-email"], "valid email"),
        (["Initech", "--owner", "a@b.test", "--password", "short"], "Password rejected"),
    ],
)
def test_createorg_rejects_bad_input(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("createorg", *args)
    assert not Organization.objects.exists() and not User.objects.exists()


@pytest.mark.parametrize("org_ref", ["slug", "name", "id"])
@pytest.mark.parametrize("team_ref", [None, "name", "id"])
def test_createapikey_by_slug_name_or_id(org, member, team, org_ref, team_ref):
    Membership.objects.get(org=org, user=member).teams.add(team)
    args = ["--org", {"slug": org.slug, "name": "ACME", "id": str(org.pk)}[org_ref], "--user", "Member@Acme.test"]
    if team_ref:
        args += ["--team", {"name": "platform", "id": str(team.pk)}[team_ref]]

    output = run("createapikey", *args, "--name", "laptop", "--expires-days", "30")

    key = printed_key(output)
    assert (key.org, key.user, key.name, key.team) == (org, member, "laptop", team if team_ref else None)
    assert 29 <= (key.expires_at - key.created_at).days <= 30
    assert AuditLog.objects.for_org(org).get(action="api_key.create").actor_email == "system"


def test_createapikey_management_key(org, admin):
    key = printed_key(run("createapikey", "--org", org.slug, "--user", admin.email, "--kind", "management"))
    assert (key.kind, key.expires_at, key.name) == (ApiKeyKind.MANAGEMENT, None, "CLI key")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nope", "--user", "member@acme.test"], "Unknown organization"),
        (["--org", "Acme", "--user", "member@acme.test"], "Several organizations"),
        (["--org", "{org}", "--user", "ghost@acme.test"], "Unknown user"),
        (["--org", "{org}", "--user", "outsider@globex.test"], "not a member"),
        (["--org", "{org}", "--user", "member@acme.test", "--team", "Globex team"], "Unknown team"),
        (["--org", "{org}", "--user", "member@acme.test", "--team", "{other_team}"], "Unknown team"),
        (["--org", "{org}", "--user", "member@acme.test", "--kind", "management"], "Management keys"),
        (["--org", "{org}", "--user", "member@acme.test", "--expires-days", "0"], "positive"),
        (["--org", "{org}", "--user", "member@acme.test", "--name", " "], "needs a name"),
    ],
)
def test_createapikey_rejects_bad_input(org, member, outsider, other_team, args, message):
    OrganizationFactory(name="Acme", slug="acme-2")  # a second "Acme": the name alone is ambiguous
    args = [a.format(org=org.slug, other_team=other_team.pk) for a in args]

    with pytest.raises(CommandError, match=message):
        run("createapikey", *args)
    assert not ApiKey.objects.exists()


def test_createapikey_rejects_an_unknown_kind(org, member):
    with pytest.raises(CommandError):
        run("createapikey", "--org", org.slug, "--user", member.email, "--kind", "root")
