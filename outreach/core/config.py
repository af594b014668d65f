"""Configuration: defaults for development, overridden from OUTREACH_* environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from outreach.core import jsonio

DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - refused in production
INSTANCE_DIR = Path(__file__).resolve().parents[2] / "instance"  # the repository's instance/


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe or incomplete."""


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment, then apply overrides."""
    env = os.environ
    database_url = env.get("OUTREACH_DATABASE_URL") or (f"sqlite:///{INSTANCE_DIR / 'outreach.db'}")
    cfg: dict = {
        "OUTREACH_ENV": environment_name(env.get("OUTREACH_ENV")),
        "SECRET_KEY": env.get("OUTREACH_SECRET_KEY", DEV_SECRET),
        "JWT_SECRET_KEY": env.get("OUTREACH_JWT_SECRET", DEV_SECRET),
        "MATCH_KEY_SECRET": env.get("OUTREACH_MATCH_KEY_SECRET")
        or env.get("OUTREACH_SECRET_KEY", DEV_SECRET),
        # Wraps each device's secrets in the database (a dump alone does not give them).
        "DEVICE_KEY_SECRET": env.get("OUTREACH_DEVICE_KEY_SECRET")
        or env.get("OUTREACH_SECRET_KEY", DEV_SECRET),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True,
            "json_serializer": jsonio.dumps,
            "json_deserializer": jsonio.loads,
        },
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(
            minutes=int(env.get("OUTREACH_ACCESS_TOKEN_MINUTES", "15"))
        ),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(
            days=int(env.get("OUTREACH_REFRESH_TOKEN_DAYS", "14"))
        ),
        # A refresh whose answer was lost, retried with the same token within this many
        # seconds while its successor is unused, gets a new pair of the same family
        # instead of ending the session (0: every reuse ends it).
        "REFRESH_GRACE_SECONDS": int(env.get("OUTREACH_REFRESH_GRACE_SECONDS", "60")),
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ERROR_MESSAGE_KEY": "message",
        "RATELIMIT_STORAGE_URI": env.get("OUTREACH_RATELIMIT_STORAGE_URL", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Servers sharing one Redis share counts under one prefix (another deployment on
        # the same Redis: another prefix).
        "RATELIMIT_KEY_PREFIX": env.get("OUTREACH_RATELIMIT_KEY_PREFIX", "outreach"),
        # Failed sign-ins from one address, whatever the account (Flask-Limiter).
        "LOGIN_LIMIT_PER_ADDRESS": env.get("OUTREACH_LOGIN_LIMIT_ADDRESS", "30/15 minutes"),
        # One account from one address (outreach/auth/throttle.py): this many failures
        # are free, then each one more doubles the wait from the base, up to the cap; a
        # pair quiet for the reset period starts again.
        "LOGIN_BACKOFF_AFTER": int(env.get("OUTREACH_LOGIN_BACKOFF_AFTER", "5")),
        "LOGIN_BACKOFF_BASE_SECONDS": int(env.get("OUTREACH_LOGIN_BACKOFF_BASE_SECONDS", "30")),
        "LOGIN_BACKOFF_MAX_SECONDS": int(env.get("OUTREACH_LOGIN_BACKOFF_MAX_SECONDS", "900")),
        "LOGIN_BACKOFF_RESET_SECONDS": 24 * 3600,
        # How many reverse proxies in front set X-Forwarded-For/-Proto (werkzeug's
        # ProxyFix trusts that many hops); 0: forwarded headers are ignored.
        "PROXY_COUNT": int(env.get("OUTREACH_PROXY_COUNT", "0")),
        "SMTP_HOST": env.get("OUTREACH_SMTP_HOST", "localhost"),
        "SMTP_PORT": int(env.get("OUTREACH_SMTP_PORT", "25")),
        "SMTP_USER": env.get("OUTREACH_SMTP_USER") or None,
        "SMTP_PASSWORD": env.get("OUTREACH_SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _bool(env.get("OUTREACH_SMTP_STARTTLS")),
        "SMTP_TIMEOUT": float(env.get("OUTREACH_SMTP_TIMEOUT", "20")),
        "MAIL_FROM": env.get("OUTREACH_MAIL_FROM", "outreach-reports@localhost"),
        "REPORT_SCHEDULE": env.get("OUTREACH_REPORT_SCHEDULE", "0 7 * * mon"),
        "TIMEZONE": env.get("OUTREACH_TIMEZONE", "Europe/London"),
        # A week is released to commissioners this many days after it ends (docs/disclosure.md).
        "REPORT_GRACE_DAYS": int(env.get("OUTREACH_REPORT_GRACE_DAYS", "7")),
        # The first week ever released (ISO week, e.g. 2026-W40, or a date in it); unset: any.
        "RELEASES_FROM": env.get("OUTREACH_RELEASES_FROM") or None,
        "SYNC_INTERVENTION_DAYS": int(env.get("OUTREACH_SYNC_INTERVENTION_DAYS", "90")),
        "REFERRAL_WAIT_HOURS": int(env.get("OUTREACH_REFERRAL_WAIT_HOURS", "48")),
        "EPISODE_END_WARNING_DAYS": int(env.get("OUTREACH_EPISODE_END_WARNING_DAYS", "14")),
        "SYNC_MAX_MUTATIONS": 500,
        "SYNC_MAX_BYTES": 1024 * 1024,
        "SYNC_MIN_SCHEMA_VERSION": 1,
        # A pull at the team's mark and a push of nothing answered before the full path
        # (outreach/sync/idle.py); off only to measure the full path (bench/idle_sync_bench.py).
        "SYNC_IDLE_FAST_PATH": _bool(env.get("OUTREACH_SYNC_IDLE_FAST_PATH"), True),
        "CLOCK_SKEW_MINUTES": int(env.get("OUTREACH_CLOCK_SKEW_MINUTES", "10")),
        # JSON lines (one object per line, with the request id) or text for people.
        "LOG_FORMAT": env.get("OUTREACH_LOG_FORMAT", "json"),
        # Prometheus scrapes /metrics with `Authorization: Bearer <this>` (or an admin).
        "METRICS_TOKEN": env.get("OUTREACH_METRICS_TOKEN") or None,
        "OFFLINE_UNLOCK_HOURS": int(env.get("OUTREACH_OFFLINE_UNLOCK_HOURS", "12")),
        "AUTO_LOCK_MINUTES": int(env.get("OUTREACH_AUTO_LOCK_MINUTES", "5")),
        "PIN_ATTEMPTS": int(env.get("OUTREACH_PIN_ATTEMPTS", "5")),
        "RETENTION_YEARS": int(env.get("OUTREACH_RETENTION_YEARS", "7")),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # flask-smorest / OpenAPI
        "API_TITLE": "Outreach API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        "JSON_SORT_KEYS": False,
    }
    if overrides:
        cfg.update(overrides)
    check_config(cfg)
    return cfg


PRODUCTION_NAMES = frozenset({"production", "prod", "live"})
DEVELOPMENT_NAMES = frozenset({"development", "dev", "test", "testing", "local", ""})
SECRET_MIN_LENGTH = 32
SECRET_MIN_DISTINCT = 8


def environment_name(value: str | None) -> str:
    """OUTREACH_ENV, read case-insensitively: `production` (also `Production`, `prod`,
    `live`) or `development`. Anything else is refused rather than guessed (a typo must
    never start production with development secrets)."""
    name = (value or "").strip().lower()
    if name in PRODUCTION_NAMES:
        return "production"
    if name in DEVELOPMENT_NAMES:
        return "development"
    raise ConfigError(f"OUTREACH_ENV must be production or development, not {value!r}")


def secret_problem(value: str) -> str | None:
    """Why `value` is too weak to be a production secret, or None."""
    if value == DEV_SECRET:
        return "is the development value"
    if len(value) < SECRET_MIN_LENGTH:
        return f"is shorter than {SECRET_MIN_LENGTH} characters"
    if len(set(value)) < SECRET_MIN_DISTINCT:
        return f"has fewer than {SECRET_MIN_DISTINCT} different characters"
    for period in range(1, len(value) // 2 + 1):
        if value == (value[:period] * (len(value) // period + 1))[: len(value)]:
            return "repeats a short pattern"
    return None


def check_config(cfg: dict) -> None:
    """Refuse to run production with development or weak secrets."""
    if environment_name(cfg.get("OUTREACH_ENV")) != "production":
        return
    for key in ("SECRET_KEY", "JWT_SECRET_KEY", "MATCH_KEY_SECRET", "DEVICE_KEY_SECRET"):
        problem = secret_problem(str(cfg.get(key) or ""))
        if problem:
            raise ConfigError(
                f"{key} {problem}: set it to a random value of at least {SECRET_MIN_LENGTH} "
                "characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "when OUTREACH_ENV=production"
            )


def check_shared_limits(env_name: str | None, storage_uri: str | None, workers: int) -> None:
    """Rate limits (sign-in above all) must be shared by every web worker: production
    with more than one gunicorn worker refuses the per-process `memory://` storage
    (`gunicorn.conf.py` calls this when it starts)."""
    if environment_name(env_name) != "production" or workers <= 1:
        return
    if (storage_uri or "memory://").strip().lower().startswith("memory://"):
        raise ConfigError(
            f"OUTREACH_RATELIMIT_STORAGE_URL is memory:// with {workers} gunicorn workers: "
            "each worker would count sign-in failures on its own. Set it to Redis "
            "(e.g. redis://127.0.0.1:6379/0) or run one worker (OUTREACH_WEB_WORKERS=1)."
        )
