"""Admin API for the audit log (/api/v1/admin/audit)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from outreach.access.guard import require
from outreach.audit.service import events_query
from outreach.core.blueprint import Blueprint
from outreach.core.pagination import paginate
from outreach.core.schemas import PageArgsSchema, PageSchema, Text, page_items

blp = Blueprint(
    "admin_audit", __name__, url_prefix="/api/v1/admin", description="Audit log (admin)"
)


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    device_id = fields.UUID(allow_none=True)
    address = Text(allow_none=True)
    action = Text()
    entity = Text(allow_none=True)
    record_id = Text(allow_none=True)
    detail = fields.Dict(allow_none=True)


class AuditPageSchema(PageSchema):
    items = page_items(AuditEventSchema)


class AuditQueryArgsSchema(PageArgsSchema):
    actor_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    device_id = fields.UUID()
    action = Text(
        validate=validate.Length(max=64),
        metadata={"description": "an action, or a prefix ending in `*` (`read.*`: reads)"},
    )
    address = Text(validate=validate.Length(max=45))
    entity = Text(validate=validate.Length(max=32))
    record_id = Text(validate=validate.Length(max=64))
    since = fields.AwareDateTime(default_timezone=None)
    until = fields.AwareDateTime(default_timezone=None)


@blp.route("/audit")
class AuditEvents(MethodView):
    decorators = [require("admin")]

    @blp.arguments(AuditQueryArgsSchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args):
        """Who read or changed which record, from which device and address; newest first.

        Reads of personal data are `read.*` events: `read.client_history`,
        `read.client_list`, `read.intervention_list`, `read.duplicate_pairs` (ids and
        filters in `detail`), `read.report` (format, week and areas)."""
        filters = {k: v for k, v in args.items() if k not in ("page", "per_page")}
        return paginate(events_query(**filters), args)
