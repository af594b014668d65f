"""Outreach: offline-first recording for drug-treatment outreach teams."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from outreach.core.config import load_config
from outreach.core.jsonio import OrjsonProvider
from outreach.shell import register_shell

ROOT = Path(__file__).resolve().parent.parent


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
    register_shell(app)

    from outreach.core.proxies import TrustedProxies

    app.wsgi_app = TrustedProxies(app.wsgi_app, app.config)  # type: ignore[method-assign]
    from outreach.observability import register_observability

    register_observability(app)

    from outreach.cli import register_cli

    register_cli(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        from outreach.core.logs import configure

        configure(json_lines=app.config["LOG_FORMAT"] == "json")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _import_models() -> None:
    """Import every slice's models so metadata (and Alembic) sees all tables, and the
    slices that own synced entities, which register them and their rules
    (`outreach.records.registry`)."""
    from outreach.access import models as _access  # noqa: F401
    from outreach.audit import models as _audit  # noqa: F401
    from outreach.auth import models as _auth  # noqa: F401
    from outreach.interventions import models as _interventions  # noqa: F401
    from outreach.interventions import service as _intervention_rules  # noqa: F401
    from outreach.pathways import models as _pathways  # noqa: F401
    from outreach.pathways import service as _pathway_rules  # noqa: F401
    from outreach.people import models as _people  # noqa: F401
    from outreach.people import service as _people_rules  # noqa: F401
    from outreach.records import models as _records  # noqa: F401
    from outreach.reports import models as _reports  # noqa: F401


def _register_blueprints(app: Flask, api) -> None:
    from outreach import app_routes
    from outreach.audit.routes import blp as audit_blp
    from outreach.auth.admin_routes import blp as devices_blp
    from outreach.auth.routes import blp as auth_blp
    from outreach.caseload.routes import blp as caseload_blp
    from outreach.org.routes import blp as org_blp
    from outreach.pathways.routes import blp as pathways_blp
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
        pathways_blp,
    ):
        api.register_blueprint(blp)
    app.register_blueprint(app_routes.docs_assets)
