"""Smoke test of `make run`'s embedded path: SQLite, no Redis, eager Celery, seeded twice."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
KEY_RE = re.compile(r"rqk_[A-Za-z0-9_-]+")


def _manage(env: dict[str, str], *args: str) -> str:
    """Run manage.py in a fresh interpreter with the embedded settings; return its stdout."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _printed_key(output: str) -> str:
    keys = set(KEY_RE.findall(output))
    assert len(keys) == 1, f"expected one key in the banner, got {keys}:\n{output}"
    return keys.pop()


@pytest.mark.slow
def test_make_run_embedded_path_migrates_and_seeds_idempotently(tmp_path):
    db_path = tmp_path / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY"}}
    env.update(
        DATABASE_URL=f"sqlite:///{db_path}",
        REQUESTY_EMBEDDED="true",
        DEBUG="true",
        DJANGO_SETTINGS_MODULE="requesty.settings",
    )

    _manage(env, "migrate", "--noinput")
    if "catalog_sync" in get_commands():
        _manage(env, "catalog_sync")
    first = _printed_key(_manage(env, "seed_demo"))
    second_output = _manage(env, "seed_demo")
    second = _printed_key(second_output)
    assert first != second
    assert "http://127.0.0.1:8000/" in second_output
    assert "admin@acme.test" in second_output

    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM orgs_organization WHERE name = 'Acme'").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM orgs_team WHERE name = 'Platform'").fetchone() == (1,)
        keys = {
            key_hash: (revoked_at, expires_at, kind, email, org)
            for key_hash, revoked_at, expires_at, kind, email, org in db.execute(
                "SELECT k.key_hash, k.revoked_at, k.expires_at, k.kind, u.email, o.name FROM orgs_apikey k "
                "JOIN orgs_user u ON u.id = k.user_id JOIN orgs_organization o ON o.id = k.org_id"
            )
        }
    assert keys[_sha256(second)] == (None, None, "gateway", "dev@acme.test", "Acme")
    revoked_at, *_ = keys[_sha256(first)]
    assert revoked_at is not None
    assert len(keys) == 2
