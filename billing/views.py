"""Console pages for usage: authorize, parse, call selectors, render."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing import selectors
from billing.forms import UsageFilter
from orgs.console import render_page
from orgs.decorators import org_member_required

USAGE_PAGE_SIZE = 50


@org_member_required
def usage(request: HttpRequest) -> HttpResponse:
    """The request log and its totals: who spent what, on which model."""
    records = selectors.usage_record_list(org=request.org, membership=request.membership)
    usage_filter = UsageFilter(request.GET, queryset=records, org=request.org, membership=request.membership)
    page = Paginator(usage_filter.qs, USAGE_PAGE_SIZE).get_page(request.GET.get("page"))
    summary = selectors.usage_summary(records=usage_filter.qs)
    context = {
        "filter": usage_filter,
        "page": page,
        "summary": summary,
        "top_models": selectors.usage_top_models(records=usage_filter.qs, total=summary.spend),
        # Only worth a query when the filtered page is empty: "no requests yet" or "none match"?
        "has_usage": bool(page.object_list) or records.exists(),
        "chat_url": settings.SITE_URL.rstrip("/") + "/v1/chat/completions",
    }
    return render_page(request, "billing/usage.html", context, partial="billing/partials/usage_results.html")


@org_member_required
def usage_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    """Everything the ledger recorded about one request."""
    record = selectors.usage_record_get(org=request.org, membership=request.membership, request_id=request_id)
    return render(request, "billing/usage_detail.html", {"record": record})
