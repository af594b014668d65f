"""App-level routes: /api/v1/me, /api/v1/health, and the API docs' local assets."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint as FlaskBlueprint
from flask import send_from_directory
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import text

from outreach.access.guard import current_actor, require
from outreach.access.profile import profile_of
from outreach.core.blueprint import Blueprint
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.schemas import Text
from outreach.interventions.codes import reference_data

blp = Blueprint("account", __name__, url_prefix="/api/v1", description="The signed-in user; health")
docs_assets = FlaskBlueprint("docs_assets", __name__)

SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
DOCS_STATIC = Path(__file__).resolve().parent / "docs_static"


class MeSchema(Schema):
    id = fields.Integer()
    email = Text()
    name = Text()
    role = Text()
    team = fields.Dict(allow_none=True)
    areas = fields.List(fields.Dict())
    device_id = fields.UUID()
    codes = fields.Dict(metadata={"description": "intervention types, locations, substances"})


class HealthSchema(Schema):
    status = Text()
    database = Text()


@blp.route("/me")
class Me(MethodView):
    decorators = [require()]

    @blp.response(200, MeSchema)
    @blp.alt_response(401, description="Not signed in, or device revoked")
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self):
        """The signed-in user, role, team, areas and the intervention code list."""
        actor = current_actor()
        return {**profile_of(actor.user), "device_id": actor.device_id, "codes": reference_data()}


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="Database unreachable")
    @blp.doc(security=[])
    def get(self):
        """Liveness and database reachability, for load balancers."""
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any database failure means unhealthy
            db.session.rollback()
            raise ApiError(503, "The database is unreachable.") from None
        return {"status": "ok", "database": "ok"}


@docs_assets.get("/api/docs/assets/<path:filename>")
def swagger_asset(filename: str):
    """Swagger UI's files from the installed package: no CDN (closed networks, CSP)."""
    if filename == "init.js":
        return send_from_directory(DOCS_STATIC, "init.js", max_age=3600)
    return send_from_directory(SWAGGER_DIR, filename, max_age=86400)
