"""Routes of the sync slice: POST /api/v1/sync/push and GET /api/v1/sync/pull."""

from __future__ import annotations

import functools
from datetime import timedelta

from flask import current_app, jsonify, request
from flask.views import MethodView

from outreach.access.guard import current_actor, require
from outreach.core.blueprint import Blueprint
from outreach.core.errors import ApiError
from outreach.core.extensions import api
from outreach.sync import service
from outreach.sync.idle import idle_pull, idle_push
from outreach.sync.schemas import (
    PullArgsSchema,
    PullResultSchema,
    PushResultSchema,
    PushSchema,
    sync_components,
)

blp = Blueprint("sync", __name__, url_prefix="/api/v1", description="Sync")
SYNC_ROLES = ("worker", "team_lead")


@blp.record_once
def _document_results(state) -> None:
    """Put the schemas push and pull results name in the app's OpenAPI document. Made
    here, not when the schemas module is imported: by now the app has imported every
    slice, so every synced entity is registered."""
    for name, schema in sync_components().items():
        if isinstance(schema, dict):
            api.spec.components.schema(name, schema)
        else:
            api.spec.components.schema(name, schema=schema)


def limit_body(view):
    """413 before parsing when the body is over SYNC_MAX_BYTES: nothing is stored."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        limit = current_app.config["SYNC_MAX_BYTES"]
        size = request.content_length
        if size is None:
            size = len(request.get_data(cache=True))
        if size > limit:
            raise ApiError(
                413,
                f"A push may carry at most {limit:,} bytes: send fewer mutations at a time.",
            )
        try:
            return view(*args, **kwargs)
        except RecursionError:  # JSON nested thousands deep: refuse it, do not crash
            raise ApiError(400, "The body is nested too deeply to be a push.") from None

    return wrapper


BUSY = (
    "The database was unreachable; the request may not have completed: retry after "
    "Retry-After seconds (a retried push is applied once)"
)


@blp.route("/sync/push")
class SyncPush(MethodView):
    # Outermost last: a push of nothing is answered before the guard and the body's schema.
    decorators = [limit_body, require(*SYNC_ROLES), idle_push(SYNC_ROLES)]

    @blp.arguments(PushSchema)
    @blp.response(200, PushResultSchema)
    @blp.alt_response(413, description="Too many mutations or bytes; nothing was stored")
    @blp.alt_response(426, description="The app's schema_version is too old")
    @blp.alt_response(503, description=BUSY)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, args):
        """Apply a batch of mutations made offline; one result per mutation, in order."""
        cfg = current_app.config
        if args["schema_version"] < cfg["SYNC_MIN_SCHEMA_VERSION"]:
            raise ApiError(
                426,
                "This app is out of date: reload it to update, then sync again. "
                "Your records are kept on the device.",
                errors={"schema_version": [f"Must be {cfg['SYNC_MIN_SCHEMA_VERSION']} or later."]},
            )
        mutations = args["mutations"]
        if len(mutations) > cfg["SYNC_MAX_MUTATIONS"]:
            raise ApiError(
                413,
                f"A push may carry at most {cfg['SYNC_MAX_MUTATIONS']} mutations.",
                errors={"mutations": [f"At most {cfg['SYNC_MAX_MUTATIONS']} per push."]},
            )
        results = service.push(
            current_actor(),
            mutations,
            skew=timedelta(minutes=cfg["CLOCK_SKEW_MINUTES"]),
            max_mutation_bytes=cfg.get("SYNC_MAX_MUTATION_BYTES", 32 * 1024),
            body_bytes=request.content_length or 0,
        )
        # Already JSON-safe: skip marshmallow's dump of hundreds of nested results.
        return jsonify({"results": results})


@blp.route("/sync/pull")
class SyncPull(MethodView):
    # Outermost last: a pull at the team's mark is answered before the guard and schema.
    decorators = [require(*SYNC_ROLES), idle_pull(SYNC_ROLES)]

    @blp.arguments(PullArgsSchema, location="query")
    @blp.response(200, PullResultSchema)
    @blp.alt_response(503, description=BUSY)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, args):
        """Changes in your team's scope after the cursor, in sequence order."""
        body = service.pull(
            current_actor(),
            args["cursor"],
            args["limit"],
            window_days=current_app.config["SYNC_INTERVENTION_DAYS"],
        )
        return jsonify(body)
