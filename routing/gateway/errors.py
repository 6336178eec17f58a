"""Errors the gateway returns on /v1, in OpenAI's shape (and Anthropic's on /v1/messages)."""

from __future__ import annotations

import orjson
from django.http import HttpResponse

from routing.providers.base import ProviderError

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
}


class GatewayError(Exception):
    """A request we refuse or cannot serve, with the status and OpenAI error fields to return."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    @classmethod
    def from_provider(cls, exc: ProviderError) -> GatewayError:
        """Keep the provider's message; the status comes from our mapping."""
        return cls(exc.status, exc.message, type=exc.type, code=exc.code)

    def body(self, *, anthropic: bool = False) -> dict:
        """The error body: OpenAI's shape, plus Anthropic's top-level type on /v1/messages."""
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        if anthropic:
            return {
                "type": "error",
                "error": {
                    **error,
                    "type": _ANTHROPIC_TYPES.get(self.status, "api_error"),
                    "code": self.code or self.type,
                },
            }
        return {"error": error}

    def response(self, *, anthropic: bool = False, request_id: str = "") -> HttpResponse:
        """A JSON response carrying this error."""
        resp = HttpResponse(
            orjson.dumps(self.body(anthropic=anthropic)), status=self.status, content_type="application/json"
        )
        for key, value in self.headers.items():
            resp[key] = value
        if request_id:
            resp["x-request-id"] = request_id
        return resp
