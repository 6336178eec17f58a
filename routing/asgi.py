"""A Django ASGI handler for /v1 with no middleware: the key is the only identity there."""

from __future__ import annotations

import asyncio

from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix


class GatewayASGIHandler(ASGIHandler):
    """Serves /v1 without middleware, request signals or thread hops.

    Django's handler sends request_started/request_finished through sync_to_async and closes the
    response in a thread: each is a hop through one shared thread, which serializes requests under
    load. The gateway's database work runs in executor threads that manage their own connections
    (see routing.gateway.auth), so the signals have nothing to do here.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        """Build a middleware chain that is just the view call."""
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        get_response = self._get_response_async if is_async else self._get_response
        self._middleware_chain = convert_exception_to_response(get_response)

    async def handle(self, scope, receive, send) -> None:
        """Read the body, run the view and send the response, cancelling the view on disconnect."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            return

        async def process() -> HttpResponseBase:
            response = await self.get_response_async(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass
            return response

        disconnect = asyncio.ensure_future(self.listen_for_disconnect(receive))
        work = asyncio.ensure_future(process())
        try:
            await asyncio.wait([disconnect, work], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (disconnect, work):
                if not task.done():
                    task.cancel()
                    try:
                        await task
                    except (asyncio.CancelledError, RequestAborted):
                        pass
                elif not task.cancelled():
                    exc = task.exception()
                    if exc is not None and not isinstance(exc, RequestAborted):
                        raise exc
            body_file.close()
