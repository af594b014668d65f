"""What production refuses to start with: OUTREACH_ENV read case-insensitively (a
`Production` or `prod` must not mean development), weak secrets, per-worker rate-limit
counts with several gunicorn workers; and the demo loader refuses production."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from outreach import create_app
from outreach.core.config import ConfigError, check_shared_limits

GOOD = {
    "OUTREACH_SECRET_KEY": "s1-Vq8pXk3Lr9Tz2Wm7Nb4Hc6Jd0Fg5Ya",
    "OUTREACH_JWT_SECRET": "j1-Qw3Er5Ty7Ui9Op0As2Df4Gh6Jk8Lz",
}
ROOT = Path(__file__).resolve().parents[2]


def _env(monkeypatch, tmp_path, **values):
    monkeypatch.setenv("OUTREACH_DATABASE_URL", f"sqlite:///{tmp_path}/guard.db")
    for name in ("OUTREACH_SECRET_KEY", "OUTREACH_JWT_SECRET", "OUTREACH_MATCH_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("name", ["Production", "PRODUCTION", " prod ", "Live"])
def test_production_however_written_refuses_development_secrets(monkeypatch, tmp_path, name):
    _env(monkeypatch, tmp_path, OUTREACH_ENV=name)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
    _env(monkeypatch, tmp_path, OUTREACH_ENV=name, **GOOD)
    assert create_app().config["OUTREACH_ENV"] == "production"


def test_an_unknown_environment_name_is_refused(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path, OUTREACH_ENV="prodution")
    with pytest.raises(ConfigError, match="OUTREACH_ENV"):
        create_app()


@pytest.mark.parametrize(
    "weak",
    ["a" * 36, "ab" * 20, "abcd" * 10, "0123456" * 6, "short-but-random-7Yq"],
)
def test_weak_secrets_are_refused_in_production(monkeypatch, tmp_path, weak):
    _env(monkeypatch, tmp_path, OUTREACH_ENV="production", **GOOD)
    monkeypatch.setenv("OUTREACH_JWT_SECRET", weak)
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        create_app()


def test_several_workers_need_shared_rate_limit_storage(monkeypatch):
    with pytest.raises(ConfigError, match="memory://"):
        check_shared_limits("Production", None, 2)
    with pytest.raises(ConfigError, match="memory://"):
        check_shared_limits("production", "memory://", 4)
    check_shared_limits("production", "redis://127.0.0.1:6379/0", 4)
    check_shared_limits("production", None, 1)
    check_shared_limits("development", None, 4)
    # gunicorn runs this check when it starts (gunicorn.conf.py's on_starting).
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    monkeypatch.setenv("OUTREACH_ENV", "production")
    monkeypatch.delenv("OUTREACH_RATELIMIT_STORAGE_URL", raising=False)
    server = SimpleNamespace(cfg=SimpleNamespace(workers=2))
    with pytest.raises(ConfigError, match="memory://"):
        conf["on_starting"](server)
    monkeypatch.setenv("OUTREACH_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/0")
    conf["on_starting"](server)


def test_the_demo_loader_refuses_production(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path, OUTREACH_ENV="Production", **GOOD)
    app = create_app()
    result = app.test_cli_runner().invoke(args=["outreach", "demo"])
    assert result.exit_code != 0
    assert "does not run in production" in result.output
