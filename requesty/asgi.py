"""ASGI entry point: /v1 runs through a slim handler, everything else through the full stack."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "requesty.settings")
console_app = get_asgi_application()

from routing.asgi import GatewayASGIHandler  # noqa: E402  (needs apps loaded)

gateway_app = GatewayASGIHandler()


async def lifespan(scope, receive, send) -> None:
    """Close the pooled upstream client cleanly when the server stops."""
    from routing.gateway.proxy import http_client_close

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await http_client_close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    """Send /v1 traffic to the gateway handler, which skips session, CSRF and auth middleware."""
    if scope["type"] == "http" and (scope["path"] == "/v1" or scope["path"].startswith("/v1/")):
        await gateway_app(scope, receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
    else:
        await console_app(scope, receive, send)
