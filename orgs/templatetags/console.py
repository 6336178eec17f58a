"""Template helpers for the console layout and the audit log."""

from __future__ import annotations

import json

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_active(context, *prefixes: str) -> str:
    """The class "active" when the current URL name starts with one of the prefixes (a sidebar section)."""
    match = getattr(context.get("request"), "resolver_match", None)
    name = match.url_name if match else ""
    return "active" if name and name.startswith(prefixes) else ""


@register.filter
def audit_changes(entry) -> list[tuple[str, object, object]]:
    """The fields an audit row changed, as (field, before, after), in field order."""
    before, after = entry.before or {}, entry.after or {}
    fields = list(dict.fromkeys([*before, *after]))
    return [(f, before.get(f), after.get(f)) for f in fields if before.get(f) != after.get(f)]


@register.filter
def as_json(value) -> str:
    """Pretty JSON for a before/after snapshot."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)
