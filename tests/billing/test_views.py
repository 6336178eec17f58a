"""The usage pages: who sees which rows, every filter, exact totals, htmx partials, pagination and the detail view."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import UsageRecord, UsageStatus
from billing.templatetags.billing_format import exact, usd
from tests.factories import make_key

LOGIN_URL = reverse("account_login")
USAGE_URL = reverse("billing:usage")
SPEND_ROLES = ["owner", "admin", "billing_user", "viewer"]


def record(org, *, name: str, key=None, ago: timedelta = timedelta(hours=1), **fields) -> UsageRecord:
    """A ledger row as the gateway writes it: user and team come from the key."""
    values = {
        "request_id": f"req_{name}_{uuid.uuid4().hex[:8]}",
        "endpoint": "chat",
        "model_requested": "openai/gpt-4o-mini",
        "model_used": "openai/gpt-4o-mini",
        "provider": "openai",
        "status": UsageStatus.SUCCESS,
        "http_status": 200,
        "input_tokens": 10,
        "output_tokens": 5,
        "cost": Decimal("0.001"),
        "latency_ms": 100,
        "user": key.user if key else None,
        "team": key.team if key else None,
        "created_at": timezone.now() - ago,
        **fields,
    }
    return UsageRecord.objects.create(org=org, api_key=key, **values)


@pytest.fixture
def ledger(org, other_org, owner, admin, billing_user, member, viewer, outsider, team):
    """Six rows in `org` (three in the last 7 days) and one in `other_org`, each distinguishable by a filter."""
    member_key, _ = make_key(org=org, user=member, name="member bot")
    owner_key, _ = make_key(org=org, user=owner, name="ops pipeline", team=team)
    outsider_key, _ = make_key(org=other_org, user=outsider, name="globex key")
    rows = SimpleNamespace(member_key=member_key, owner_key=owner_key, outsider_key=outsider_key)
    rows.a = record(org, name="a", key=member_key, cost=Decimal("0.000000075"), tags=["prod", "eu"], input_tokens=100)
    rows.b = record(
        org,
        name="b",
        key=owner_key,
        ago=timedelta(days=2),
        model_requested="policy/cheap",
        model_used="anthropic/claude-3-5-haiku",
        provider="anthropic",
        status=UsageStatus.ERROR,
        http_status=502,
        error_type="provider_error",
        error_message="upstream exploded",
        cost=Decimal("1.1"),
        tags=["staging"],
        input_tokens=200,
        output_tokens=0,
    )
    rows.c = record(
        org,
        name="c",
        key=owner_key,
        ago=timedelta(hours=3),
        model_requested="openai/gpt-4o",
        model_used="openai/gpt-4o",
        cost=Decimal("0.25"),
        usage_reported=False,
        streamed=True,
        ttft_ms=42,
        latency_ms=900,
        cache_read_tokens=7,
        input_tokens=300,
        output_tokens=40,
        trace_id="trace-123",
        end_user="customer-9",
        metadata={"feature": "search"},
        tags=["production"],
    )
    rows.d = record(org, name="d", key=member_key, ago=timedelta(days=10), cost=Decimal("5"))
    rows.f = record(
        org,
        name="f",
        key=member_key,
        ago=timedelta(days=40),
        model_requested="google/gemini-2.0-flash",
        model_used="google/gemini-2.0-flash",
        provider="google",
        status=UsageStatus.CANCELLED,
        http_status=499,
        cost=Decimal("0"),
    )
    rows.e = record(other_org, name="e", key=outsider_key, cost=Decimal("9"), tags=["prod"])
    return rows


def shown(response) -> set[str]:
    """The request ids on the rendered page, by the row name each test gave them (a, b, c...)."""
    return {r.request_id.split("_")[1] for r in response.context["page"].object_list}


# Access


@pytest.mark.parametrize("name", ["billing:usage", "billing:usage-detail"])
def test_anonymous_is_sent_to_login(client, ledger, name):
    url = reverse(name, args=[ledger.a.request_id]) if name.endswith("detail") else reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL) and "next=" in response["Location"]


def test_outsider_never_sees_the_orgs_rows(login, ledger, outsider):
    client = login(outsider)
    response = client.get(USAGE_URL, {"period": "all"})
    assert shown(response) == {"e"}
    body = response.content.decode()
    assert ledger.a.request_id not in body and "member bot" not in body and "ops pipeline" not in body
    assert response.context["summary"].spend == Decimal("9")
    for row in (ledger.a, ledger.b, ledger.c, ledger.d, ledger.f):
        assert client.get(reverse("billing:usage-detail", args=[row.request_id])).status_code == 404


def test_outsider_filtering_by_the_orgs_key_still_sees_only_their_own(login, ledger, outsider):
    response = login(outsider).get(USAGE_URL, {"period": "all", "key": ledger.member_key.pk})
    assert shown(response) <= {"e"}


def test_member_sees_only_their_own_rows(login, ledger, member):
    client = login(member)
    response = client.get(USAGE_URL, {"period": "all"})
    assert shown(response) == {"a", "d", "f"}
    assert response.context["summary"].spend == Decimal("5.000000075")
    body = response.content.decode()
    assert "ops pipeline" not in body and "Anyone" not in body  # neither others' keys nor the user filter
    assert set(response.context["filter"].filters["key"].queryset) == {ledger.member_key}
    # A user filter they don't have is ignored, never widened.
    assert shown(client.get(USAGE_URL, {"period": "all", "user": "owner@acme.test"})) == {"a", "d", "f"}
    assert client.get(reverse("billing:usage-detail", args=[ledger.a.request_id])).status_code == 200
    for row in (ledger.b, ledger.c, ledger.e):
        assert client.get(reverse("billing:usage-detail", args=[row.request_id])).status_code == 404


@pytest.mark.parametrize("role", SPEND_ROLES)
def test_spend_readers_see_the_whole_org(request, login, ledger, role):
    client = login(request.getfixturevalue(role))
    assert shown(client.get(USAGE_URL, {"period": "all"})) == {"a", "b", "c", "d", "f"}
    assert client.get(reverse("billing:usage-detail", args=[ledger.b.request_id])).status_code == 200
    assert client.get(reverse("billing:usage-detail", args=[ledger.e.request_id])).status_code == 404


def test_unknown_request_id_is_404(login, owner):
    assert login(owner).get(reverse("billing:usage-detail", args=["req_nope"])).status_code == 404


def test_sidebar_links_to_usage(login, owner):
    body = login(owner).get(reverse("orgs:dashboard")).content.decode()
    assert f'href="{USAGE_URL}"' in body and "Arrives with analytics" not in body


# Filters and totals


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, {"a", "b", "c"}),  # the last 7 days by default
        ({"period": "bogus"}, {"a", "b", "c"}),
        ({"period": "24h"}, {"a", "c"}),
        ({"period": "7d"}, {"a", "b", "c"}),
        ({"period": "30d"}, {"a", "b", "c", "d"}),
        ({"period": "all"}, {"a", "b", "c", "d", "f"}),
        ({"period": "all", "model": "GPT-4o"}, {"a", "c", "d"}),
        ({"period": "all", "model": "gpt-4o-mini"}, {"a", "d"}),
        ({"period": "all", "provider": "anthropic"}, {"b"}),
        ({"period": "all", "provider": "google"}, {"f"}),
        ({"period": "all", "status": "error"}, {"b"}),
        ({"period": "all", "status": "cancelled"}, {"f"}),
        ({"period": "all", "status": "success"}, {"a", "c", "d"}),
        ({"period": "all", "user": "member@acme.test"}, {"a", "d", "f"}),
        ({"period": "all", "user": "owner@acme.test"}, {"b", "c"}),
        ({"period": "all", "tag": "prod"}, {"a"}),  # an element of tags, not a substring of one
        ({"period": "all", "tag": "eu"}, {"a"}),
        ({"period": "all", "tag": "production"}, {"c"}),
        ({"period": "all", "tag": "pro"}, set()),
        ({"period": "all", "unreported": "on"}, {"c"}),
        ({"period": "all", "status": "success", "unreported": "on", "model": "gpt-4o"}, {"c"}),
    ],
)
def test_each_filter_narrows_the_rows(login, ledger, owner, params, expected):
    assert shown(login(owner).get(USAGE_URL, params)) == expected


def test_key_and_team_filters(login, ledger, owner, team):
    client = login(owner)
    assert shown(client.get(USAGE_URL, {"period": "all", "key": ledger.member_key.pk})) == {"a", "d", "f"}
    assert shown(client.get(USAGE_URL, {"period": "all", "key": ledger.owner_key.pk})) == {"b", "c"}
    assert shown(client.get(USAGE_URL, {"period": "all", "team": team.pk})) == {"b", "c"}
    # Another org's key is not a choice: the filter is refused and nothing of theirs appears.
    assert "e" not in shown(client.get(USAGE_URL, {"period": "all", "key": ledger.outsider_key.pk}))


def test_totals_are_exact_and_follow_the_filters(login, ledger, owner):
    client = login(owner)
    response = client.get(USAGE_URL)
    summary = response.context["summary"]
    assert summary.spend == Decimal("1.350000075") and str(summary.spend.normalize()) == "1.350000075"
    assert summary.requests == 3 and summary.errors == 1 and summary.error_rate == Decimal("33.3")
    assert (summary.input_tokens, summary.output_tokens, summary.cache_read_tokens) == (600, 45, 7)
    assert summary.avg_latency_ms == round((100 + 100 + 900) / 3)
    body = response.content.decode()
    assert 'title="1.350000075 USD">$1.35<' in body
    assert "33.3%" in body and "1 error" in body

    top = response.context["top_models"]
    assert [(m.model, m.requests, m.spend) for m in top] == [
        ("anthropic/claude-3-5-haiku", 1, Decimal("1.1")),
        ("openai/gpt-4o", 1, Decimal("0.25")),
        ("openai/gpt-4o-mini", 1, Decimal("0.000000075")),
    ]
    assert top[0].share == Decimal("81.5")

    errors = client.get(USAGE_URL, {"status": "error"}).context["summary"]
    assert errors.spend == Decimal("1.1") and errors.requests == 1 and errors.error_rate == Decimal("100.0")
    nothing = client.get(USAGE_URL, {"tag": "no-such-tag"}).context["summary"]
    assert nothing.spend == Decimal("0") and nothing.requests == 0 and nothing.error_rate is None


def test_top_models_keeps_five_and_falls_back_to_the_requested_name(login, org, owner):
    key, _ = make_key(org=org, user=owner)
    for i in range(7):
        record(org, name=f"m{i}", key=key, model_used=f"openai/model-{i}", cost=Decimal(i))
    record(org, name="x", key=key, model_requested="policy/none", model_used="", status=UsageStatus.ERROR)
    top = login(owner).get(USAGE_URL).context["top_models"]
    assert [m.model for m in top] == [f"openai/model-{i}" for i in (6, 5, 4, 3, 2)]
    only_error = login(owner).get(USAGE_URL, {"status": "error"}).context["top_models"]
    assert [m.model for m in only_error] == ["policy/none"]


# Table, htmx and pagination


def test_table_shows_each_column(login, ledger, owner):
    body = login(owner).get(USAGE_URL).content.decode()
    assert ledger.owner_key.prefix in body and "ops pipeline" in body and "member@acme.test" in body
    assert "requested policy/cheap" in body  # the model asked for, when routing used another
    assert "+7 cached" in body and "TTFT 42 ms" in body and "No usage reported" in body
    assert "provider_error" in body and "Error" in body
    assert reverse("billing:usage-detail", args=[ledger.c.request_id]) in body


def test_htmx_request_gets_the_table_and_the_totals_out_of_band(login, ledger, owner):
    response = login(owner).get(USAGE_URL, {"status": "error"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="usage-table">')
    assert '<div id="usage-summary" hx-swap-oob="true">' in body
    assert ledger.b.request_id in body and ledger.a.request_id not in body
    assert "HX-Request" in response["Vary"]


def test_pagination_newest_first(login, org, owner):
    key, _ = make_key(org=org, user=owner)
    for i in range(55):
        record(org, name=f"p{i:02d}", key=key, ago=timedelta(minutes=i + 1))
    client = login(owner)
    first = client.get(USAGE_URL)
    names = [r.request_id.split("_")[1] for r in first.context["page"].object_list]
    assert names == [f"p{i:02d}" for i in range(50)]
    assert "1–50 of 55 requests" in first.content.decode()
    second = client.get(USAGE_URL, {"page": 2}, headers={"HX-Request": "true"})
    assert shown(second) == {f"p{i}" for i in range(50, 55)}
    assert "<html" not in second.content.decode() and "Page 2 of 2" in second.content.decode()


def test_empty_states(settings, login, org, owner):
    settings.SITE_URL = "https://gateway.acme.test"
    client = login(owner)
    body = client.get(USAGE_URL).content.decode()
    assert "No requests yet" in body and "https://gateway.acme.test/v1/chat/completions" in body
    assert reverse("orgs:key-create") in body and 'id="usage-summary"' in body and "Top models" not in body

    key, _ = make_key(org=org, user=owner)
    record(org, name="old", key=key, ago=timedelta(days=60))
    body = client.get(USAGE_URL).content.decode()
    assert "No requests match these filters" in body and "No requests yet" not in body


def test_viewer_empty_state_has_no_create_key_link(login, viewer):
    body = login(viewer).get(USAGE_URL).content.decode()
    assert "No requests yet" in body and reverse("orgs:key-create") not in body


# Detail


def test_detail_shows_every_field(login, ledger, owner, team):
    body = login(owner).get(reverse("billing:usage-detail", args=[ledger.c.request_id])).content.decode()
    for text in [
        ledger.c.request_id,
        "$0.25",
        "openai/gpt-4o",
        "900 ms",
        "42 ms",
        "trace-123",
        "customer-9",
        "production",
        "&quot;feature&quot;: &quot;search&quot;",
        ledger.owner_key.prefix,
        "ops pipeline",
        "owner@acme.test",
        team.name,
        "No usage reported",
    ]:
        assert text in body, text


def test_detail_keeps_full_precision_and_errors(login, ledger, owner):
    client = login(owner)
    body = client.get(reverse("billing:usage-detail", args=[ledger.a.request_id])).content.decode()
    assert "$0.000000075" in body
    body = client.get(reverse("billing:usage-detail", args=[ledger.b.request_id])).content.decode()
    assert "provider_error" in body and "upstream exploded" in body and "HTTP 502" in body
    assert "policy/cheap" in body and "anthropic/claude-3-5-haiku" in body


# Money formatting


@pytest.mark.parametrize(
    "value,shown_as",
    [
        (Decimal("1.350000075"), "$1.35"),
        (Decimal("0.000000075"), "<$0.000001"),
        (Decimal("0.0000125"), "$0.000013"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("0"), "$0.00"),
        (None, "$0.00"),
    ],
)
def test_usd_rounds_to_six_places_exactly(value, shown_as):
    assert usd(value) == shown_as


def test_exact_keeps_every_digit():
    assert exact(Decimal("1.350000075000")) == "1.350000075"
    assert exact(Decimal("10.000000000000")) == "10"
