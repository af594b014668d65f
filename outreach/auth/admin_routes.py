"""Admin API for devices: list and revoke (/api/v1/admin/devices)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from outreach.access.guard import current_actor, require
from outreach.access.models import Device
from outreach.auth import service
from outreach.core.blueprint import Blueprint
from outreach.core.errors import ApiError
from outreach.core.pagination import paginate
from outreach.core.schemas import PageArgsSchema, PageSchema, Text, page_items

blp = Blueprint(
    "admin_devices", __name__, url_prefix="/api/v1/admin", description="Devices (admin)"
)


class DeviceSchema(Schema):
    id = fields.UUID()
    user_id = fields.Integer()
    label = Text(allow_none=True)
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime(allow_none=True)
    last_sync_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class DevicePageSchema(PageSchema):
    items = page_items(DeviceSchema)


class DeviceQueryArgsSchema(PageArgsSchema):
    user_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


@blp.route("/devices")
class Devices(MethodView):
    decorators = [require("admin")]

    @blp.arguments(DeviceQueryArgsSchema, location="query")
    @blp.response(200, DevicePageSchema)
    def get(self, args):
        """List devices, most recently seen first."""
        stmt = select(Device)
        if args.get("user_id"):
            stmt = stmt.where(Device.user_id == args["user_id"])
        stmt = stmt.order_by(
            Device.last_seen_at.desc().nullslast(), Device.created_at.desc(), Device.id
        )
        return paginate(stmt, args)


@blp.route("/devices/<uuid:device_id>/revoke")
class DeviceRevoke(MethodView):
    decorators = [require("admin")]

    @blp.response(200, DeviceSchema)
    @blp.alt_response(404, description="No such device")
    def post(self, device_id):
        """Revoke a lost phone: its tokens fail with 401 device_revoked and it wipes itself."""
        device = service.revoke_device(device_id, actor_id=current_actor().id)
        if device is None:
            raise ApiError(404, "No such device.")
        return device
