"""Helpers every console view shares (orgs, routing, billing): the form page, confirmations, htmx partials."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers

from orgs.middleware import client_ip


def actor_kwargs(request: HttpRequest) -> dict:
    """The actor and address a service records in the audit log."""
    return {"actor": request.user, "ip": client_ip(request)}


def form_data(request: HttpRequest) -> QueryDict | None:
    """The submitted data on a POST; None (an unbound form) otherwise."""
    return request.POST if request.method == "POST" else None


def render_page(request: HttpRequest, template: str, context: dict, *, partial: str | None = None) -> HttpResponse:
    """Render a page, or only its partial (same context) for an htmx request."""
    if partial and request.htmx and not request.htmx.history_restore_request:
        template = partial
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def form_page(
    request: HttpRequest, form: forms.Form, *, title: str, submit: str, back: str, intro: str = ""
) -> HttpResponse:
    """The console's one-card form page."""
    context = {"form": form, "title": title, "submit_label": submit, "cancel_url": back, "intro": intro}
    return render(request, "orgs/form.html", context)


def confirm_action(
    request: HttpRequest, *, perform: Callable[[], object], done: str, back: str, title: str, message: str, action: str
) -> HttpResponse:
    """A destructive action: GET asks (lists show the question in a dialog, via htmx), POST performs it."""
    error = None
    if request.method == "POST":
        try:
            perform()
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, done)
            return redirect(back)
    context = {"title": title, "message": message, "action_label": action, "cancel_url": back, "error": error}
    if error:
        return render(request, "orgs/confirm.html", context, status=400)
    return render_page(request, "orgs/confirm.html", context, partial="orgs/partials/confirm.html")
