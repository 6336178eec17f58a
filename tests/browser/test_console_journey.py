"""An owner's first session in the console, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orgs.models import ApiKey, Invitation, hash_secret
from orgs.services import org_create
from tests.factories import PASSWORD, UserFactory

SHOTS = "/tmp/console-{}.png"


def shoot(page, name, full_page=True):
    page.screenshot(path=SHOTS.format(name), full_page=full_page, animations="disabled")


@pytest.mark.browser
def test_console_journey(page, transactional_db):
    owner = UserFactory(email="founder@journey.test")
    org_create(name="Journey Labs", owner=owner)
    sidebar = page.locator(".sidebar")

    page.goto("/accounts/login/")
    shoot(page, "login")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".org-switcher")).to_contain_text("Journey Labs")

    # A team, from the empty state's call to action.
    sidebar.get_by_role("link", name="Teams").click()
    page.get_by_role("link", name="Create your first team").click()
    page.get_by_label("Name").fill("Platform")
    page.get_by_label("Description").fill("Infrastructure and internal tools")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator(".flash")).to_contain_text("Team “Platform” created.")
    expect(page.locator("table")).to_contain_text("Platform")

    # An invitation, listed as pending.
    sidebar.get_by_role("link", name="Members").click()
    page.get_by_role("link", name="Invite member").click()
    page.get_by_label("Email").fill("dev@journey.test")
    page.get_by_label("Role").select_option("member")
    page.get_by_label("Platform").check()
    page.get_by_role("button", name="Send invitation").click()
    invitation_row = page.locator("#invitations tr", has_text="dev@journey.test")
    expect(invitation_row).to_contain_text("Pending")
    expect(invitation_row).to_contain_text("Platform")
    assert Invitation.objects.get(email="dev@journey.test").status == "pending"
    shoot(page, "members")

    # A key, revealed once.
    sidebar.get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="New API key").click()
    page.get_by_label("Name").fill("ci-bot")
    page.get_by_label("Team").select_option(label="Platform")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key").input_value()
    assert secret.startswith("rqk_")
    assert ApiKey.objects.get(name="ci-bot").key_hash == hash_secret(secret)
    page.get_by_role("button", name="Copy").click()
    expect(page.locator(".secret .copy")).to_contain_text("Copied")
    shoot(page, "key-created")
    page.get_by_role("link", name="I've copied it").click()

    key_row = page.locator("tbody tr", has_text="ci-bot")
    expect(key_row).to_contain_text("Active")
    assert secret not in page.content()
    shoot(page, "keys")

    # Revoke through the confirmation dialog.
    key_row.get_by_role("link", name="Revoke").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Revoke key “ci-bot”?")
    shoot(page, "confirm", full_page=False)
    dialog.get_by_role("button", name="Revoke key").click()
    expect(page.locator("tbody tr", has_text="ci-bot")).to_contain_text("Revoked")
    assert ApiKey.objects.get(name="ci-bot").status == "revoked"

    # The filters refresh the table in place.
    page.locator("#id_status").select_option("active")
    expect(page.locator("#key-table")).to_contain_text("No keys match these filters")
    assert "status=active" in page.url

    sidebar.get_by_role("link", name="Audit log").click()
    expect(page.locator("table")).to_contain_text("api_key.revoke")
    shoot(page, "audit")

    sidebar.get_by_role("link", name="Dashboard").click()
    expect(page.locator('[data-stat="teams"]')).to_have_text("1")
    shoot(page, "dashboard")
