"""Test settings: the real settings module, with PostgreSQL and Redis defaults for the test run."""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("CELERY_BROKER_URL", "")
os.environ.setdefault("GATEWAY_DEMO_PROVIDER", "true")

from requesty.settings import *  # noqa: E402,F403

# Hashing passwords slowly protects nothing in tests and costs most of their time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Each pytest-xdist worker gets its own Redis database: the tests flush it and read its usage stream.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _worker.startswith("gw"):  # noqa: F405
    REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + f"/{1 + int(_worker[2:]) % 14}"  # noqa: F405
    CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
