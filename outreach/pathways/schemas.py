"""Schemas of the pathways API: partnerships (admin), referrals, a client's pathway,
episodes needing attention."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from outreach.core.schemas import PageArgsSchema, PageSchema, Text, page_items
from outreach.pathways.models import STATUSES
from outreach.pathways.queries import DIRECTIONS

NAME = validate.Length(min=1, max=120)


def _distinct(values: list[int]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Name each team once.")


def _team_ids_field(required: bool) -> fields.List:
    """The teams of a partnership: at least two, each once (an unknown id is a 422 on
    `team_ids`, like any reference to a row)."""
    return fields.List(
        fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
        required=required,
        load_only=True,
        validate=[validate.Length(min=2, max=50), _distinct],
        metadata={"uniqueItems": True},
    )


class PartnerTeamSchema(Schema):
    id = fields.Integer(required=True)
    name = Text(required=True)
    area_id = fields.Integer(required=True)


class PartnershipSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Text(required=True, validate=NAME)
    agreement_ref = Text(
        required=True, validate=NAME, metadata={"description": "the data-sharing agreement"}
    )
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(allow_none=True, metadata={"description": "none: open-ended"})
    team_ids = _team_ids_field(required=True)
    in_force = fields.Boolean(dump_only=True)
    teams = fields.List(fields.Nested(PartnerTeamSchema), dump_only=True)


class PartnershipUpdateSchema(Schema):
    name = Text(validate=NAME)
    agreement_ref = Text(validate=NAME)
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    team_ids = _team_ids_field(required=False)


class PartnershipPageSchema(PageSchema):
    items = page_items(PartnershipSchema)


class ReferralSchema(Schema):
    id = Text(required=True)
    client_id = Text(required=True)
    to_team_id = fields.Integer(required=True)
    team_id = fields.Integer(required=True, metadata={"description": "the referring team"})
    from_team = Text(allow_none=True)
    to_team = Text(allow_none=True)
    direction = Text(required=True, metadata={"description": "incoming or outgoing"})
    reason = Text(required=True)
    urgency = Text(required=True)
    notes = Text(allow_none=True)
    status = Text(required=True)
    status_at = Text(required=True)
    closed_reason = Text(allow_none=True)
    sent_at = Text(allow_none=True)
    accepted_at = Text(allow_none=True)
    declined_at = Text(allow_none=True)
    first_contact_at = Text(allow_none=True)
    treatment_entry_at = Text(allow_none=True)
    closed_at = Text(allow_none=True)
    version = fields.Integer(required=True)
    server_seq = fields.Integer(required=True)
    created_at = Text(allow_none=True)
    updated_at = Text(allow_none=True)
    deleted_at = Text(allow_none=True)


class ReferralPageSchema(PageSchema):
    items = page_items(ReferralSchema)


class ReferralQueryArgsSchema(PageArgsSchema):
    direction = Text(load_default="all", validate=validate.OneOf(DIRECTIONS))
    status = Text(validate=validate.OneOf(list(STATUSES)))


class EpisodeSchema(Schema):
    id = Text(required=True)
    client_id = Text(required=True)
    kind = Text(required=True)
    started_on = Text(required=True)
    planned_end_on = Text(required=True)
    conditions = fields.List(Text(), required=True)
    navigator_id = fields.Integer(allow_none=True)
    next_session_on = Text(allow_none=True)
    sessions = fields.List(Text(), required=True)
    outcome = Text(allow_none=True)
    ended_on = Text(allow_none=True)
    version = fields.Integer(required=True)
    server_seq = fields.Integer(required=True)
    created_at = Text(allow_none=True)
    updated_at = Text(allow_none=True)
    deleted_at = Text(allow_none=True)
    due_to_end = fields.Boolean()
    session_overdue = fields.Boolean()


class EpisodePageSchema(PageSchema):
    items = page_items(EpisodeSchema)


class PathwaySchema(Schema):
    client_id = fields.UUID(required=True)
    referrals = fields.List(fields.Nested(ReferralSchema), required=True)
    episodes = fields.List(fields.Nested(EpisodeSchema), required=True)


class PartnerPageSchema(PageSchema):
    items = page_items(PartnerTeamSchema)


class PartnerDuplicateSchema(Schema):
    client_id = fields.UUID(required=True)
    initials = Text(allow_none=True)
    known_as = Text(allow_none=True)
    first_recorded_at = fields.DateTime(required=True)
    other_client_id = fields.UUID(required=True)
    other_team_id = fields.Integer(required=True)
    other_team = Text(required=True)
    other_first_recorded_at = fields.DateTime(required=True)


class PartnerDuplicatePageSchema(PageSchema):
    items = page_items(PartnerDuplicateSchema)


class ConfirmDuplicateSchema(Schema):
    client_id = fields.UUID(required=True, metadata={"description": "your team's client"})
    other_client_id = fields.UUID(required=True, metadata={"description": "the partner's"})
    resolution = Text(required=True, validate=validate.OneOf(["linked", "not_duplicate"]))


class ClientLinkSchema(Schema):
    id = fields.Integer(required=True)
    client_id = fields.UUID(required=True)
    other_client_id = fields.UUID(required=True)
    resolution = Text(required=True)
    confirmed_at = fields.DateTime(required=True)
