"""A minimal OpenAI-compatible upstream for the benchmark: fixed answers, as fast as uvicorn allows."""

from __future__ import annotations

import orjson

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the benchmark upstream."},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 7,
            "total_tokens": 19,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
)
CHUNKS = [
    orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )
    for delta, finish in [
        ({"role": "assistant", "content": "Hello "}, None),
        ({"content": "there."}, None),
        ({}, "stop"),
    ]
] + [
    orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
        }
    )
]
STREAM = b"".join(b"data: " + c + b"\n\n" for c in CHUNKS) + b"data: [DONE]\n\n"


async def app(scope, receive, send):
    """Answer any POST like OpenAI's chat completions endpoint."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    streaming = b'"stream":true' in body.replace(b" ", b"")
    payload = STREAM if streaming else COMPLETION
    ctype = b"text/event-stream" if streaming else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
