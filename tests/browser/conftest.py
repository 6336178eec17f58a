"""Browser fixtures: Debian's Chromium driven by Playwright's sync API against pytest-django's live server."""

from __future__ import annotations

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for one test module.

    Playwright's sync API keeps an asyncio loop running in this thread while it lives, which makes Django refuse
    ORM calls; the ORM calls the browser tests make are synchronous, so they are allowed, and only for as long as
    Playwright runs (other tests keep Django's check).
    """
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, settings):
    """A fresh browser tab whose relative URLs go to the live server."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()
