"""Routes of the caseload slice."""

from flask_smorest import Blueprint

blp = Blueprint("caseload", __name__, url_prefix="/api/v1", description="Caseload")
