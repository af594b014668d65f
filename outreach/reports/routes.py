"""Routes of the reports slice."""

from flask_smorest import Blueprint

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Reports")
