"""Routing console pages: providers and the org's own keys, the model catalog, negotiated prices."""

from __future__ import annotations

import logging
import re
import uuid
from decimal import Decimal
from html import unescape
from types import SimpleNamespace
from urllib.parse import parse_qs

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from orgs.models import AuditLog
from routing.models import CatalogModel, OrgModelPrice, ProviderCredential, decrypt_secret
from routing.services import catalog_sync, org_model_price_set, provider_credential_set

LOGIN_URL = reverse("account_login")
SEED = {
    "openai/gpt-4o-mini",
    "openai/text-embedding-3-small",
    "anthropic/claude-sonnet-4-5",
    "anthropic/claude-haiku-4-5",
    "google/gemini-2.5-flash",
    "demo/echo",
    "demo/embed",
}
SECRET = "sk-live-Th1sIsTheWholeSecretKey-9f3a"
ROLES = ["owner", "admin", "billing_user", "member", "viewer"]


@pytest.fixture(autouse=True)
def no_deployment_keys(monkeypatch):
    """Start every test with no provider configured in the environment (other suites may have set some)."""
    for prefix in settings.PROVIDER_ENV:
        monkeypatch.setitem(settings.PROVIDER_ENV, prefix, {"api_key": "", "base_url": "", "api_version": ""})


@pytest.fixture
def catalog(db):
    catalog_sync(only=SEED)
    return {m.id: m for m in CatalogModel.objects.all()}


@pytest.fixture
def objs(org, owner, catalog):
    """The org's own OpenAI key and a negotiated price, the objects the console addresses by id."""
    credential = provider_credential_set(
        org=org, actor=owner, provider=catalog["openai/gpt-4o-mini"].provider, api_key=SECRET
    )
    price = org_model_price_set(
        org=org,
        actor=owner,
        model=catalog["anthropic/claude-sonnet-4-5"],
        input_price=Decimal("2.4"),
        output_price=Decimal("12"),
        cache_read_price=Decimal("0.24"),
        cache_write_price=Decimal("3"),
    )
    return SimpleNamespace(credential=credential, price=price)


def url_for(objs, name, attr=None):
    if name == "routing:credential-set":
        return reverse(name, args=["openai"])
    return reverse(name, args=[getattr(objs, attr).pk]) if attr else reverse(name)


def audited(org, action) -> bool:
    return AuditLog.objects.filter(org=org, action=action).exists()


def rows(response) -> list[str]:
    """The model ids of the models table, in order."""
    return re.findall(r'data-model="([^"]+)"', response.content.decode())


OBJECT_VIEWS = [("routing:credential-delete", "credential"), ("routing:price-delete", "price")]
PAGE_VIEWS = ["routing:provider-list", "routing:model-list", "routing:price-list"]
WRITE_VIEWS = [("routing:credential-set", None), ("routing:price-set", None), *OBJECT_VIEWS]


def unchanged(org, objs) -> bool:
    credential = ProviderCredential.objects.get(pk=objs.credential.pk)
    price = OrgModelPrice.objects.get(pk=objs.price.pk)
    return (
        credential.api_key == SECRET
        and price.input_price == Decimal("2.4")
        and OrgModelPrice.objects.for_org(org).count() == 1
        and ProviderCredential.objects.for_org(org).count() == 1
    )


# Access rules


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name,attr", [(n, None) for n in PAGE_VIEWS] + WRITE_VIEWS)
def test_anonymous_is_sent_to_login(client, objs, method, name, attr):
    response = getattr(client, method)(url_for(objs, name, attr))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL) and "next=" in response["Location"]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name,attr", OBJECT_VIEWS)
def test_outsider_gets_404_for_another_orgs_objects(login, org, outsider, objs, method, name, attr):
    response = getattr(login(outsider), method)(url_for(objs, name, attr))
    assert response.status_code == 404
    assert unchanged(org, objs)


def test_unknown_ids_and_providers_are_404(login, owner, catalog):
    client = login(owner)
    assert client.get(reverse("routing:credential-delete", args=[uuid.uuid4()])).status_code == 404
    assert client.get(reverse("routing:price-delete", args=[uuid.uuid4()])).status_code == 404
    assert client.get(reverse("routing:credential-set", args=["nope"])).status_code == 404
    # The demo provider needs no key, so there is nothing to set.
    assert client.get(reverse("routing:credential-set", args=["demo"])).status_code == 404


def test_outsider_sees_neither_our_key_nor_our_prices(login, outsider, objs):
    client = login(outsider)
    providers = client.get(reverse("routing:provider-list")).content.decode()
    assert objs.credential.key_hint not in providers and "Your key" not in providers
    models = client.get(reverse("routing:model-list"), {"q": "claude-sonnet-4-5"})
    assert rows(models) == ["anthropic/claude-sonnet-4-5"] and "badge-negotiated" not in models.content.decode()
    assert "No negotiated prices" in client.get(reverse("routing:price-list")).content.decode()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", PAGE_VIEWS)
def test_every_role_can_read(request, login, objs, role, name):
    response = login(request.getfixturevalue(role)).get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["billing_user", "member", "viewer"])
@pytest.mark.parametrize("name,attr", WRITE_VIEWS)
def test_lower_roles_cannot_write(request, login, org, objs, role, name, attr):
    client = login(request.getfixturevalue(role))
    url = url_for(objs, name, attr)
    data = {"api_key": "sk-hijack", "model": "openai/gpt-4o-mini", "input_price": "0", "output_price": "0"}
    assert client.post(url, data).status_code == 403
    assert client.get(url).status_code == 403
    assert unchanged(org, objs)


@pytest.mark.parametrize("role", ["billing_user", "member", "viewer"])
def test_lower_roles_see_read_only_pages(request, login, objs, role):
    client = login(request.getfixturevalue(role))
    providers = client.get(reverse("routing:provider-list")).content.decode()
    assert "Your key …" + objs.credential.key_hint in providers
    assert reverse("routing:credential-set", args=["openai"]) not in providers and "Remove" not in providers
    prices = client.get(reverse("routing:price-list")).content.decode()
    assert "anthropic/claude-sonnet-4-5" in prices and "$2.40" in prices
    assert reverse("routing:price-set") not in prices
    assert reverse("routing:price-delete", args=[objs.price.pk]) not in prices
    assert reverse("routing:price-set") not in client.get(reverse("routing:model-list")).content.decode()


# Providers and the org's own keys


def test_providers_show_how_each_is_configured(login, owner, objs, monkeypatch):
    monkeypatch.setitem(
        settings.PROVIDER_ENV, "ANTHROPIC", {"api_key": "sk-ant-env", "base_url": "", "api_version": ""}
    )
    monkeypatch.setitem(settings.PROVIDER_ENV, "OLLAMA", {"api_key": "", "base_url": "http://ollama:11434/v1"})
    body = login(owner).get(reverse("routing:provider-list")).content.decode()

    def status(slug: str) -> str:
        row = re.search(rf'<tr data-provider="{slug}">(.*?)</tr>', body, re.S)
        assert row, slug
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1)))

    assert "Your key …9f3a" in status("openai")
    assert "Deployment key (environment)" in status("anthropic") and "sk-ant-env" not in body
    assert "Deployment key (environment)" in status("ollama")
    assert "Not configured" in status("google") and "GEMINI_API_KEY" in status("google")
    # Azure has no default endpoint: a key alone from the environment does not configure it.
    assert "Not configured" in status("azure")
    assert "Demo — answers in-process, no key needed" in status("demo")
    assert re.search(r"OpenAI .* 2 ", status("openai"))  # two seeded OpenAI models


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_credential_set_replace_and_delete(request, login, org, catalog, role):
    manager = request.getfixturevalue(role)
    client = login(manager)
    url = reverse("routing:credential-set", args=["anthropic"])
    form = client.get(url).content.decode()
    assert 'type="password"' in form and "api_version" not in form and "Add your Anthropic key" in form

    response = client.post(url, {"api_key": SECRET, "base_url": ""}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("routing:provider-list")
    assert "Your Anthropic key …9f3a was saved." in response.content.decode()
    credential = ProviderCredential.objects.get(org=org, provider_id="anthropic")
    assert credential.api_key == SECRET and credential.key_hint == "9f3a" and credential.created_by == manager
    assert audited(org, "provider_credential.create")

    assert "It replaces your current key …9f3a." in client.get(url).content.decode()
    response = client.post(url, {"api_key": "sk-second-key-abcd", "base_url": "https://proxy.acme.test/v1"})
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.api_key == "sk-second-key-abcd" and credential.base_url == "https://proxy.acme.test/v1"
    assert audited(org, "provider_credential.update")

    delete_url = reverse("routing:credential-delete", args=[credential.pk])
    confirm = client.get(delete_url)
    assert confirm.status_code == 200 and "Remove key" in confirm.content.decode()
    assert ProviderCredential.objects.filter(pk=credential.pk).exists()
    response = client.post(delete_url, follow=True)
    assert not ProviderCredential.objects.filter(pk=credential.pk).exists()
    assert "Your Anthropic key …abcd was removed." in response.content.decode()
    assert audited(org, "provider_credential.delete")


def test_credential_is_encrypted_at_rest(org, owner, objs):
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted FROM routing_providercredential WHERE id = %s", [objs.credential.pk])
        (stored,) = cursor.fetchone()
    assert SECRET not in stored and SECRET[4:20] not in stored
    assert decrypt_secret(stored) == SECRET


def test_the_key_never_appears_in_a_response_or_a_log(login, org, owner, catalog, caplog):
    caplog.set_level(logging.DEBUG)
    client = login(owner)
    url = reverse("routing:credential-set", args=["openai"])
    bodies = []
    # A validation error re-renders the form: the key must not be echoed into the password input.
    response = client.post(url, {"api_key": SECRET, "base_url": "not a url"})
    assert response.status_code == 200 and "Enter a valid URL." in response.content.decode()
    assert not ProviderCredential.objects.exists()
    bodies.append(response.content)
    response = client.post(url, {"api_key": SECRET}, follow=True)
    assert ProviderCredential.objects.get(org=org).api_key == SECRET
    bodies.append(response.content)
    bodies.append(client.get(url).content)
    bodies.append(client.get(reverse("routing:provider-list")).content)
    bodies.append(client.get(reverse("orgs:audit-log")).content)
    bodies.append(client.get(reverse("routing:credential-delete", args=[ProviderCredential.objects.get().pk])).content)
    assert all(b"9f3a" in body or b"password" in body for body in bodies)
    for body in bodies:
        assert SECRET.encode() not in body and b"Th1sIsTheWholeSecret" not in body
    assert SECRET not in caplog.text
    for entry in AuditLog.objects.filter(org=org):
        assert SECRET not in str(entry.before) + str(entry.after) + entry.object_repr


def test_credential_errors_show_inline(login, org, owner, catalog):
    client = login(owner)
    response = client.post(reverse("routing:credential-set", args=["openai"]), {"api_key": "   "})
    assert response.status_code == 200 and "field-error" in response.content.decode()
    # Azure has no default endpoint, so its form asks for one, and for the API version.
    url = reverse("routing:credential-set", args=["azure"])
    form = client.get(url).content.decode()
    assert 'name="api_version"' in form and 'name="base_url"' in form
    response = client.post(url, {"api_key": "azure-key-1234", "api_version": "2024-10-21"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not ProviderCredential.objects.exists()
    data = {"api_key": "azure-key-1234", "base_url": "https://acme.openai.azure.com", "api_version": "2024-10-21"}
    assert client.post(url, data).status_code == 302
    credential = ProviderCredential.objects.get(org=org, provider_id="azure")
    assert credential.api_version == "2024-10-21" and credential.api_key == "azure-key-1234"


# The model catalog


def test_models_page_lists_the_catalog_with_prices(login, owner, catalog):
    response = login(owner).get(reverse("routing:model-list"))
    body = response.content.decode()
    assert sorted(rows(response)) == sorted(SEED)
    mini = catalog["openai/gpt-4o-mini"]
    assert mini.input_price == Decimal("0.15") and mini.output_price == Decimal("0.6")
    row = re.search(r'data-model="openai/gpt-4o-mini">(.*?)</tr>', body, re.S).group(1)
    assert "$0.15" in row and "$0.60" in row and "128K" in row and "Vision" in row and "Tools" in row
    demo = re.search(r'data-model="demo/echo">(.*?)</tr>', body, re.S).group(1)
    assert "badge-demo" in demo
    assert "badge-demo" not in row


def test_negotiated_price_replaces_the_list_price(login, owner, objs, catalog):
    response = login(owner).get(reverse("routing:model-list"), {"q": "anthropic/"})
    body = response.content.decode()
    sonnet = re.search(r'data-model="anthropic/claude-sonnet-4-5">(.*?)</tr>', body, re.S).group(1)
    assert "badge-negotiated" in sonnet and "$2.40" in sonnet and "$12.00" in sonnet
    assert "List price $3.00" in sonnet  # the catalog price stays visible on hover
    haiku = re.search(r'data-model="anthropic/claude-haiku-4-5">(.*?)</tr>', body, re.S).group(1)
    assert "badge-negotiated" not in haiku


def test_models_search_and_filters(login, owner, catalog):
    client = login(owner)
    url = reverse("routing:model-list")
    assert rows(client.get(url, {"q": "SONNET"})) == ["anthropic/claude-sonnet-4-5"]
    assert sorted(rows(client.get(url, {"q": "Demo echo"}))) == ["demo/echo"]  # display name
    assert sorted(rows(client.get(url, {"provider": "openai"}))) == [
        "openai/gpt-4o-mini",
        "openai/text-embedding-3-small",
    ]
    embeddings = rows(client.get(url, {"mode": "embedding"}))
    assert "openai/text-embedding-3-small" in embeddings and "demo/embed" in embeddings
    assert "openai/gpt-4o-mini" not in embeddings
    vision = rows(client.get(url, {"vision": "on"}))
    assert "anthropic/claude-sonnet-4-5" in vision and "openai/gpt-4o-mini" in vision
    assert "openai/text-embedding-3-small" not in vision and "demo/echo" not in vision
    tools = rows(client.get(url, {"tools": "on", "provider": "openai"}))
    assert tools == ["openai/gpt-4o-mini"]
    combined = rows(client.get(url, {"q": "gpt", "mode": "chat", "vision": "on"}))
    assert combined == ["openai/gpt-4o-mini"]

    empty = client.get(url, {"q": "no-such-model-anywhere"})
    assert rows(empty) == [] and "No models match these filters" in empty.content.decode()


@pytest.mark.parametrize(
    "sort,field,descending",
    [
        ("input", "input_price", False),
        ("-input", "input_price", True),
        ("output", "output_price", False),
        ("-output", "output_price", True),
    ],
)
def test_models_sort_by_price(login, owner, catalog, sort, field, descending):
    ids = rows(login(owner).get(reverse("routing:model-list"), {"sort": sort}))
    expected = sorted(catalog.values(), key=lambda m: m.id)
    expected = sorted(expected, key=lambda m: getattr(m, field), reverse=descending)
    assert [getattr(catalog[i], field) for i in ids] == [getattr(m, field) for m in expected]
    assert len(ids) == len(SEED)
    cheapest = min(catalog.values(), key=lambda m: getattr(m, field))
    assert (ids[-1] if descending else ids[0]) in {
        m.id for m in catalog.values() if getattr(m, field) == getattr(cheapest, field)
    }


def test_sort_uses_the_negotiated_price(login, owner, objs, catalog):
    org_model_price_set(
        org=objs.price.org,
        actor=owner,
        model=catalog["openai/gpt-4o-mini"],
        input_price=Decimal("50"),
        output_price=Decimal("0"),
    )
    ids = rows(login(owner).get(reverse("routing:model-list"), {"sort": "-input", "mode": "chat"}))
    assert ids[0] == "openai/gpt-4o-mini"


def test_models_pagination_keeps_the_filters(login, owner, catalog):
    CatalogModel.objects.bulk_create(
        CatalogModel(id=f"demo/bulk-{i:03}", provider_id="demo", name=f"bulk-{i:03}", input_price=Decimal(i))
        for i in range(60)
    )
    client = login(owner)
    url = reverse("routing:model-list")
    first = client.get(url, {"q": "bulk"})
    assert rows(first) == [f"demo/bulk-{i:03}" for i in range(50)]
    body = first.content.decode()
    assert "1–50 of 60 models" in body and "Page 1 of 2" in body and "q=bulk&amp;page=2" in body
    second = client.get(url, {"q": "bulk", "page": 2})
    assert rows(second) == [f"demo/bulk-{i:03}" for i in range(50, 60)]
    assert rows(client.get(url, {"q": "bulk", "sort": "-input", "page": 2})) == [
        f"demo/bulk-{i:03}" for i in range(9, -1, -1)
    ]
    assert len(rows(client.get(url))) == 50  # unfiltered: the 7 seeded models and 60 more, first page


def test_models_htmx_gets_the_table_partial(login, owner, catalog):
    response = login(owner).get(reverse("routing:model-list"), {"q": "gemini"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and body.lstrip().startswith('<div id="model-table">')
    assert rows(response) == ["google/gemini-2.5-flash"]
    assert "HX-Request" in response["Vary"]
    page = login(owner).get(reverse("routing:model-list")).content.decode()
    assert 'hx-trigger="input changed delay:300ms, search"' in page and 'hx-target="#model-table"' in page


def test_sort_headers_link_to_the_reverse_order(login, owner, catalog):
    body = login(owner).get(reverse("routing:model-list"), {"sort": "input", "q": "a", "page": "1"}).content.decode()
    links = re.findall(r'<a class="sort( sorted)?" href="\?([^"]+)">(\w+)', body)
    targets = {label: (bool(sorted_), parse_qs(unescape(query))) for sorted_, query, label in links}
    assert targets["Input"] == (True, {"sort": ["-input"], "q": ["a"]})
    assert targets["Output"] == (False, {"sort": ["output"], "q": ["a"]})
    assert targets["Context"] == (False, {"sort": ["-context"], "q": ["a"]})


def test_empty_catalog(login, owner):
    body = login(owner).get(reverse("routing:model-list")).content.decode()
    assert "The catalog is empty" in body


# Negotiated prices


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_price_set_edit_and_delete(request, login, org, catalog, role):
    client = login(request.getfixturevalue(role))
    url = reverse("routing:price-set")
    assert 'list="model-options"' in client.get(url).content.decode()
    data = {"model": "openai/gpt-4o-mini", "input_price": "0.12", "output_price": "0.5", "cache_read_price": ""}
    response = client.post(url, data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("routing:price-list")
    price = OrgModelPrice.objects.get(org=org, model_id="openai/gpt-4o-mini")
    assert price.input_price == Decimal("0.12") and price.output_price == Decimal("0.5")
    mini = catalog["openai/gpt-4o-mini"]
    assert price.cache_read_price == mini.cache_read_price  # left empty: the list price
    assert audited(org, "model_price.set")
    body = response.content.decode()
    assert "Negotiated price for openai/gpt-4o-mini saved." in body
    assert "$0.12" in body and "−20%" in body  # 0.12 against the 0.15 list price

    form = client.get(url, {"model": "openai/gpt-4o-mini"}).content.decode()
    assert 'value="0.12"' in form and 'value="openai/gpt-4o-mini"' in form
    assert client.post(url, {**data, "input_price": "0.1"}).status_code == 302
    price.refresh_from_db()
    assert price.input_price == Decimal("0.1") and OrgModelPrice.objects.for_org(org).count() == 1

    delete_url = reverse("routing:price-delete", args=[price.pk])
    assert "Remove price" in client.get(delete_url).content.decode()
    response = client.post(delete_url, follow=True)
    assert not OrgModelPrice.objects.filter(pk=price.pk).exists()
    assert audited(org, "model_price.delete") and "removed" in response.content.decode()


def test_price_form_prefills_the_list_price(login, owner, catalog):
    form = login(owner).get(reverse("routing:price-set"), {"model": "anthropic/claude-sonnet-4-5"}).content.decode()
    assert 'value="3"' in form and 'value="15"' in form


@pytest.mark.parametrize(
    "data,error",
    [
        ({"model": "openai/gpt-9-imaginary"}, "Unknown model “openai/gpt-9-imaginary”"),
        ({"model": ""}, "Enter a model id such as openai/gpt-4o-mini."),
        ({"input_price": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"cache_write_price": "-0.5"}, "Ensure this value is greater than or equal to 0."),
        ({"output_price": "abc"}, "Enter a number."),
        ({"output_price": "0.0000001"}, "Ensure that there are no more than 6 decimal places."),
    ],
)
def test_price_form_errors_show_inline(login, org, owner, catalog, data, error):
    base = {"model": "openai/gpt-4o-mini", "input_price": "1", "output_price": "2"}
    response = login(owner).post(reverse("routing:price-set"), {**base, **data})
    assert response.status_code == 200
    assert error in response.content.decode() and "field-error" in response.content.decode()
    assert not OrgModelPrice.objects.exists() and not audited(org, "model_price.set")


def test_price_list_empty_state(login, owner, catalog):
    body = login(owner).get(reverse("routing:price-list")).content.decode()
    assert "No negotiated prices" in body and reverse("routing:price-set") in body


@pytest.mark.parametrize("name,attr", OBJECT_VIEWS)
def test_confirmations_render_as_a_dialog_partial_for_htmx(login, owner, objs, name, attr):
    url = url_for(objs, name, attr)
    response = login(owner).get(url, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert f'action="{url}"' in body and "csrfmiddlewaretoken" in body


# Django admin (how platform admins edit the catalog)


def test_admin_edits_the_catalog_and_never_shows_a_key(admin_client, objs, catalog):
    for model in ("provider", "catalogmodel", "orgmodelprice", "providercredential"):
        assert admin_client.get(reverse(f"admin:routing_{model}_changelist")).status_code == 200
    listing = admin_client.get(reverse("admin:routing_catalogmodel_changelist"), {"q": "gpt-4o-mini"}).content.decode()
    assert "openai/gpt-4o-mini" in listing and 'name="form-0-input_price"' in listing
    page = admin_client.get(reverse("admin:routing_catalogmodel_change", args=["openai/gpt-4o-mini"]))
    assert page.status_code == 200 and 'name="output_price"' in page.content.decode()

    credential = ProviderCredential.objects.get(pk=objs.credential.pk)
    for url in (
        reverse("admin:routing_providercredential_changelist"),
        reverse("admin:routing_providercredential_change", args=[credential.pk]),
    ):
        body = admin_client.get(url).content.decode()
        assert "9f3a" in body
        assert SECRET not in body and credential.api_key_encrypted not in body and "api_key_encrypted" not in body
    assert admin_client.get(reverse("admin:routing_providercredential_add")).status_code == 403


def test_demo_provider_hidden_when_the_deployment_turns_it_off(login, owner, settings, catalog):
    client = login(owner)
    settings.GATEWAY_DEMO_PROVIDER = True
    assert "demo/echo" in client.get(reverse("routing:model-list")).content.decode()
    settings.GATEWAY_DEMO_PROVIDER = False
    assert "demo/echo" not in client.get(reverse("routing:model-list")).content.decode()
    assert "no key needed" not in client.get(reverse("routing:provider-list")).content.decode()
