"""A warm /v1 request touches no database: auth, catalog and prices come from process memory."""

from __future__ import annotations

import threading

import httpx
from django.db.backends import utils as db_utils


def test_warm_request_makes_no_database_query(gateway, monkeypatch):
    lock = threading.Lock()
    queries: list[str] = []
    original = db_utils.CursorWrapper._execute_with_wrappers

    def counting(self, sql, params, many, executor):
        with lock:
            queries.append(sql)
        return original(self, sql, params, many, executor)

    # Patched on the class, so queries from every thread (the server's executor too) are seen.
    monkeypatch.setattr(db_utils.CursorWrapper, "_execute_with_wrappers", counting)
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {gateway.key}"}
    with httpx.Client(base_url=gateway.url, headers=headers) as client:
        assert client.post("/v1/chat/completions", json=body).status_code == 200
        assert queries, "the cold request loads the key and catalog from the database"
        queries.clear()
        for _ in range(20):
            assert client.post("/v1/chat/completions", json=body).status_code == 200
            assert client.post("/v1/chat/completions", json={**body, "stream": True}).status_code == 200
    assert queries == []
