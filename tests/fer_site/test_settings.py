"""Settings resolve to the embedded set-up without services, and to PostgreSQL + Redis with them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

from tests.services import require_postgres, require_redis

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
}))
"""


def resolve(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="fer_site.settings")
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_services_uses_sqlite_in_memory_layer_and_filesystem_broker():
    resolved = resolve()
    assert resolved["engine"] == "django.db.backends.sqlite3"
    assert resolved["db_name"].endswith("db.sqlite3")
    assert resolved["layer"] == "channels.layers.InMemoryChannelLayer"
    assert resolved["broker"] == "filesystem://"
    assert resolved["cache"].endswith("LocMemCache")


def test_with_services_uses_postgres_and_redis():
    database_url, redis_url = require_postgres(), require_redis()
    resolved = resolve(DATABASE_URL=database_url, REDIS_URL=redis_url)
    assert resolved["engine"] == "django.db.backends.postgresql"
    assert resolved["layer"] == "fer_site.channel_layers.ResilientRedisChannelLayer"
    assert resolved["broker"] == redis_url
    assert resolved["cache"].endswith("RedisCache")
    # And the services behind those URLs answer.
    with psycopg.connect(database_url.replace("postgres://", "postgresql://"), connect_timeout=5) as connection:
        assert connection.execute("select 1").fetchone() == (1,)
    assert redis.Redis.from_url(redis_url).ping()


def test_production_without_secret_key_refuses_to_start():
    clean = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    clean.update(DEBUG="false", DJANGO_SETTINGS_MODULE="fer_site.settings")
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DEBUG="false", SECRET_KEY="x" * 60 + "-production-like-secret-for-check",
               ALLOWED_HOSTS="emotions.example.com", SECURE_HSTS_SECONDS="31536000", SECURE_HSTS_PRELOAD="true")
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


STRONG_KEY = "k3y-" + "".join(chr(ord("a") + i % 26) for i in range(60))


def start(**env: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter with exactly these of our variables set."""
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="fer_site.settings")
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def assert_refused(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode != 0, done.stdout
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured"), done.stderr[-500:]
    assert all(word in last_line for word in words), last_line


@pytest.mark.parametrize("value", ["", " ", "flase", "enabled", "2", "debug"])
def test_a_boolean_that_is_not_one_stops_start_up_naming_the_variable(value):
    assert_refused(start(DEBUG=value), "DEBUG=")
    assert_refused(start(DEBUG="false", SECRET_KEY=STRONG_KEY, SECURE_SSL_REDIRECT=value), "SECURE_SSL_REDIRECT=")


@pytest.mark.parametrize(("value", "debug"), [("true", True), ("ON", True), ("1", True), ("no", False), ("Off", False)])
def test_booleans_are_read_in_any_case(value, debug):
    env = {} if debug else {"SECRET_KEY": STRONG_KEY}
    assert resolve(DEBUG=value, **env)["debug"] is debug


def test_unset_debug_is_on_for_development():
    assert resolve()["debug"] is True


def test_a_number_that_is_not_one_stops_start_up_naming_the_variable():
    assert_refused(start(MAX_FRAME_PIXELS="lots"), "MAX_FRAME_PIXELS=")


@pytest.mark.parametrize(
    "secret_key",
    ["short-secret", "django-insecure-development-key-do-not-use-in-production", "django-insecure-" + STRONG_KEY,
     "ab" * 40],
    ids=["short", "the-development-key", "insecure-prefix", "few-distinct-characters"],
)
def test_production_refuses_a_weak_secret_key(secret_key):
    assert_refused(start(DEBUG="false", SECRET_KEY=secret_key), "SECRET_KEY")
    assert resolve(DEBUG="true", SECRET_KEY=secret_key)["debug"] is True  # fine for development


@pytest.mark.parametrize("hosts", ["*", "example.com,*", " * "])
def test_production_refuses_any_host(hosts):
    assert_refused(start(DEBUG="false", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS=hosts), "ALLOWED_HOSTS")
    assert start(DEBUG="false", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="example.com").returncode == 0


@pytest.mark.parametrize("value", ["fast", "10", "10/fortnight", "/minute", "-1/minute"])
def test_a_rate_that_is_not_one_stops_start_up_naming_the_variable(value):
    assert_refused(start(API_RATE_PREDICT=value), "API_RATE_PREDICT=")
