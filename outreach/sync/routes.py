"""Routes of the sync slice."""

from flask_smorest import Blueprint

blp = Blueprint("sync", __name__, url_prefix="/api/v1", description="Sync")
