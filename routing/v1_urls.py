"""The /v1 gateway URLs (served by routing.asgi.GatewayASGIHandler under ASGI)."""

from __future__ import annotations

from django.urls import path, re_path

from routing import api

urlpatterns = [
    path("chat/completions", api.chat_completions, name="v1-chat-completions"),
    path("messages", api.messages, name="v1-messages"),
    path("messages/count_tokens", api.count_tokens, name="v1-count-tokens"),
    path("embeddings", api.embeddings, name="v1-embeddings"),
    path("models", api.models_list, name="v1-models"),
    path("models/<path:model_id>", api.model_detail, name="v1-model-detail"),
    re_path(r"^(?P<rest>.*)$", api.not_found),
]
