"""Outreach: offline-first recording for drug-treatment outreach teams."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, send_from_directory

from outreach.config import load_config
from outreach.core.jsonio import OrjsonProvider

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / "static"


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, errors, headers."""
    app = Flask(
        __name__,
        static_folder=None,
        instance_path=str(ROOT / "instance"),
    )
    app.json = OrjsonProvider(app)
    app.config.update(load_config(overrides))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_logging(app)

    from outreach.core import extensions as ext
    from outreach.core.errors import register_error_handlers
    from outreach.core.jwt_callbacks import register_jwt_callbacks
    from outreach.core.security import register_security_headers

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(ROOT / "migrations"), compare_type=True)
    ext.jwt.init_app(app)
    ext.limiter.init_app(app)
    ext.api.init_app(app)
    ext.api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    _import_models()
    _register_blueprints(app, ext.api)
    register_error_handlers(app)
    register_jwt_callbacks(ext.jwt)
    register_security_headers(app)
    _register_static(app)

    from outreach.cli import register_cli

    register_cli(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _import_models() -> None:
    """Import every slice's models so metadata (and Alembic) sees all tables."""
    from outreach.audit import models as _audit  # noqa: F401
    from outreach.auth import models as _auth  # noqa: F401
    from outreach.interventions import models as _interventions  # noqa: F401
    from outreach.org import models as _org  # noqa: F401
    from outreach.people import models as _people  # noqa: F401
    from outreach.reports import models as _reports  # noqa: F401
    from outreach.sync import models as _sync  # noqa: F401


def _register_blueprints(app: Flask, api) -> None:
    from outreach import app_routes
    from outreach.audit.routes import blp as audit_blp
    from outreach.auth.admin_routes import blp as devices_blp
    from outreach.auth.routes import blp as auth_blp
    from outreach.caseload.routes import blp as caseload_blp
    from outreach.org.routes import blp as org_blp
    from outreach.reports.routes import blp as reports_blp
    from outreach.sync.routes import blp as sync_blp

    for blp in (
        app_routes.blp,
        auth_blp,
        sync_blp,
        caseload_blp,
        reports_blp,
        org_blp,
        devices_blp,
        audit_blp,
    ):
        api.register_blueprint(blp)
    app.register_blueprint(app_routes.docs_assets)


def _register_static(app: Flask) -> None:
    """Serve the PWA from static/ at the site root (the service worker's scope is /).

    `/sw.js` is static/sw.js with the app-shell file list and a content hash of every
    static file substituted in, so any deploy that changes a static file changes the
    service worker's bytes: browsers install the new worker and the page offers a reload.
    The folder is `PWA_STATIC_DIR` in the config (default: static/ at the repo root).
    """
    import hashlib
    import json

    from flask import make_response, request
    from werkzeug.routing import PathConverter

    class ShellPath(PathConverter):
        """Any path outside /api/: the API's paths never match the PWA's files, so an API
        path answers 404 or 405 with its own methods in Allow (not GET from this route)."""

        regex = r"(?!api/)[^/].*?"

    app.url_map.converters["shell"] = ShellPath
    cache: dict = {}

    def static_dir() -> Path:
        return Path(app.config.get("PWA_STATIC_DIR") or STATIC_DIR)

    def shell() -> tuple[str, list[str]]:
        """(hash, urls) of the app shell; recomputed only when a file's size or mtime changes."""
        root = static_dir()
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        stamp = (str(root), tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))
        if cache.get("stamp") != stamp:
            digest = hashlib.sha256()
            urls = ["/"]
            for path in files:
                rel = path.relative_to(root).as_posix()
                digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
                if rel not in ("sw.js", "index.html") and not rel.endswith(".md"):
                    urls.append("/" + rel)
            cache.update(stamp=stamp, hash=digest.hexdigest()[:16], urls=urls)
        return cache["hash"], cache["urls"]

    @app.get("/")
    def pwa_index():
        response = send_from_directory(static_dir(), "index.html", max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/sw.js")
    def pwa_service_worker():
        version, urls = shell()
        body = (
            (static_dir() / "sw.js")
            .read_text(encoding="utf-8")
            .replace("__SHELL_VERSION__", version)
            .replace("__SHELL_FILES__", json.dumps(urls))
        )
        response = make_response(body)
        response.mimetype = "text/javascript"
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Service-Worker-Allowed"] = "/"
        response.set_etag(version)
        return response.make_conditional(request)

    @app.get("/<shell:filename>")
    def pwa_file(filename: str):
        response = send_from_directory(static_dir(), filename, max_age=0)
        # The service worker versions the shell; the browser must always revalidate.
        response.headers["Cache-Control"] = "no-cache"
        return response
