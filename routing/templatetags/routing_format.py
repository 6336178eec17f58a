"""Template filters for the catalog pages: prices per million tokens and context sizes."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def usd(value: Decimal | None) -> str:
    """A price as dollars with at least two decimals and no trailing zeros: $0.15, $0.075, $3.00."""
    if value is None:
        return "—"
    text = format(Decimal(value).normalize(), "f")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


@register.filter
def tokens(value: int | None) -> str:
    """A token count in short form: 8.2K, 128K, 1M, 2.1M."""
    if not value:
        return "—"
    for size, suffix in ((1_000_000, "M"), (1_000, "K")):
        if value >= size:
            scaled = value / size
            short = f"{scaled:.0f}" if scaled >= 100 else f"{scaled:.1f}".removesuffix(".0")
            return f"{short}{suffix}"
    return str(value)


@register.filter
def change_from(value: Decimal, base: Decimal) -> str:
    """How a negotiated price compares with the list price, as a signed percentage (−20%)."""
    if not base:
        return "" if not value else "new"
    percent = (Decimal(value) - Decimal(base)) * 100 / Decimal(base)
    if percent == 0:
        return "same"
    return f"{'+' if percent > 0 else '−'}{abs(percent):.0f}%"


@register.simple_tag(takes_context=True)
def sort_link(context, label: str, key: str) -> str:
    """A column header link that sorts by `key` first, then by its reverse when it already sorts by `key`."""
    query = context["request"].GET.copy()
    current = query.get("sort", "")
    reverse = key.removeprefix("-") if key.startswith("-") else f"-{key}"
    query.pop("page", None)
    query["sort"] = reverse if current == key else key
    if current not in (key, reverse):
        return format_html('<a class="sort" href="?{}">{}</a>', query.urlencode(), label)
    arrow = "↓" if current.startswith("-") else "↑"
    return format_html(
        '<a class="sort sorted" href="?{}">{} <span aria-hidden="true">{}</span></a>', query.urlencode(), label, arrow
    )
