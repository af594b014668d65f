"""Request and response schemas of the caseload review (the OpenAPI is built from these)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from outreach.caseload.queries import CLIENT_SORTS, REASONS
from outreach.caseload.service import ASSIGN_REASONS
from outreach.core.schemas import PageArgsSchema, PageSchema, Text, page_items
from outreach.interventions.codes import TYPE_CODES

USER_ID = validate.Range(min=1, max=2_147_483_647)


class ClientFilterArgsSchema(PageArgsSchema):
    worker_id = fields.Integer(
        validate=USER_ID, metadata={"description": "key worker (user id) of the clients"}
    )
    unassigned = fields.Boolean(
        load_default=False, metadata={"description": "only clients without a key worker"}
    )
    type = Text(
        validate=validate.OneOf(TYPE_CODES),
        metadata={"description": "only clients with an intervention of this type (in range)"},
    )
    date_from = fields.Date(
        data_key="from",
        metadata={"description": "only clients with an intervention on or after this day"},
    )
    date_to = fields.Date(
        data_key="to",
        metadata={"description": "only clients with an intervention on or before this day"},
    )
    sort = Text(
        load_default="last_contact",
        validate=validate.OneOf(CLIENT_SORTS),
        metadata={"description": "`-` for descending; last_contact: longest unseen first"},
    )


class AttentionArgsSchema(ClientFilterArgsSchema):
    no_contact_days = fields.Integer(load_default=14, validate=validate.Range(min=1, max=3650))
    referral_days = fields.Integer(load_default=28, validate=validate.Range(min=1, max=3650))
    reason = Text(
        validate=validate.OneOf(REASONS), metadata={"description": "only this attention reason"}
    )


class InterventionListArgsSchema(PageArgsSchema):
    worker_id = fields.Integer(validate=USER_ID)
    client_id = fields.UUID()
    type = Text(validate=validate.OneOf(TYPE_CODES))
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    sort = Text(
        load_default="-occurred_at", validate=validate.OneOf(("occurred_at", "-occurred_at"))
    )


class WorkerRowSchema(Schema):
    worker_id = fields.Integer()
    name = Text()
    role = Text()
    active = fields.Boolean()
    in_team = fields.Boolean(metadata={"description": "false: left the team, still named"})
    open_clients = fields.Integer()
    interventions_this_week = fields.Integer()
    interventions_last_4_weeks = fields.Integer(
        metadata={"description": "the 4 whole weeks before this week"}
    )
    follow_ups_due = fields.Integer(metadata={"description": "open, due today to 7 days ahead"})
    follow_ups_overdue = fields.Integer()
    last_sync_at = fields.DateTime(allow_none=True)


class CountsSchema(Schema):
    open_clients = fields.Integer()
    interventions_this_week = fields.Integer()
    interventions_last_4_weeks = fields.Integer()
    follow_ups_due = fields.Integer()
    follow_ups_overdue = fields.Integer()


class PeriodSchema(Schema):
    generated_at = fields.DateTime()
    today = fields.Date()
    timezone = Text()
    week = Text(metadata={"description": "ISO week, e.g. 2026-W48"})
    week_start = fields.Date()
    week_end = fields.Date()
    last_4_weeks_start = fields.Date()
    last_4_weeks_end = fields.Date()
    due_until = fields.Date()


class OverviewSchema(PeriodSchema):
    team = fields.Dict()
    workers = fields.List(fields.Nested(WorkerRowSchema))
    unassigned = fields.Nested(CountsSchema, metadata={"description": "no key worker"})
    totals = fields.Nested(CountsSchema)
    shared_clients = fields.Integer(
        metadata={
            "description": "of the open clients, how many partner teams referred to this "
            "team and it took on (in the workers' figures by this team's key worker)"
        }
    )


class DuplicateLinkSchema(Schema):
    duplicate_id = fields.Integer()
    other_client_id = fields.UUID()


class SharedFromSchema(Schema):
    team_id = fields.Integer(metadata={"description": "the partner team whose client it is"})
    team_name = Text(allow_none=True)
    referral_status = Text(metadata={"description": "accepted, first_contact, treatment_entry"})
    accepted_at = fields.DateTime(
        allow_none=True, metadata={"description": "when this team took the referral on"}
    )
    consent_withdrawn = fields.Boolean()
    agreement_ended = fields.Boolean()
    held_until = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "consent withdrawn or the agreement ended: the client as the "
            "team held it then (no later version)"
        },
    )


class ClientSummarySchema(Schema):
    id = fields.UUID()
    initials = Text(allow_none=True)
    known_as = Text(allow_none=True)
    date_of_birth = fields.Date(allow_none=True)
    sex = Text(allow_none=True)
    postcode_district = Text(allow_none=True)
    key_worker_id = fields.Integer(allow_none=True)
    key_worker_name = Text(allow_none=True)
    created_at = fields.DateTime()
    version = fields.Integer()
    interventions = fields.Integer()
    last_contact_at = fields.DateTime(allow_none=True)
    days_since_contact = fields.Integer(metadata={"description": "since creation if never seen"})
    follow_ups_overdue = fields.Integer()
    follow_ups_due = fields.Integer()
    next_due_on = fields.Date(allow_none=True)
    referred_at = fields.DateTime(allow_none=True)
    treatment_entry_confirmed_at = fields.DateTime(allow_none=True)
    duplicates = fields.List(fields.Nested(DuplicateLinkSchema))
    shared_from = fields.Nested(
        SharedFromSchema,
        allow_none=True,
        metadata={"description": "another team's client shared with this team (a referral)"},
    )
    reasons = fields.List(
        Text(validate=validate.OneOf(REASONS)),
        metadata={"description": "attention list only"},
    )


class ClientPageSchema(PeriodSchema, PageSchema):
    items = page_items(ClientSummarySchema)


class InterventionRowSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID(allow_none=True)
    worker_id = fields.Integer()
    worker_name = Text(allow_none=True)
    type = Text()
    occurred_at = fields.DateTime()
    recorded_at = fields.DateTime()
    location = Text()
    quantity = fields.Integer(allow_none=True)
    outcome = Text(allow_none=True)
    referral_to = Text(allow_none=True)


class InterventionPageSchema(PageSchema):
    items = page_items(InterventionRowSchema)


class FollowUpSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    due_on = fields.Date()
    reason = Text()
    assigned_to_id = fields.Integer(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    server_seq = fields.Integer()


class OpenFollowUpSchema(FollowUpSchema):
    initials = Text(allow_none=True)
    known_as = Text(allow_none=True)
    overdue = fields.Boolean()


class MineSchema(ClientPageSchema):
    worker = fields.Nested(WorkerRowSchema)
    follow_ups = fields.List(
        fields.Nested(OpenFollowUpSchema), metadata={"description": "overdue and next 7 days"}
    )


class HistoryEventSchema(Schema):
    kind = Text(
        validate=validate.OneOf(("intervention", "follow_up", "key_worker_change", "merge"))
    )
    record_id = fields.UUID()
    occurred_at = fields.DateTime(
        allow_none=True, metadata={"description": "when it happened (follow-up: done)"}
    )
    recorded_at = fields.DateTime(metadata={"description": "when the server recorded it"})
    recorded_by_id = fields.Integer(allow_none=True)
    recorded_by_name = Text(allow_none=True)
    type = Text()
    location = Text()
    quantity = fields.Integer(allow_none=True)
    outcome = Text(allow_none=True)
    referral_to = Text(allow_none=True)
    notes = Text(allow_none=True)
    due_on = fields.Date()
    reason = Text()
    assigned_to_id = fields.Integer(allow_none=True)
    assigned_to_name = Text(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    from_worker_id = fields.Integer(allow_none=True)
    from_worker_name = Text(allow_none=True)
    to_worker_id = fields.Integer(allow_none=True)
    to_worker_name = Text(allow_none=True)
    change_reason = Text(allow_none=True)
    merged_client_id = fields.UUID(allow_none=True)


class HistorySchema(PageSchema):
    client = fields.Nested(ClientSummarySchema)
    items = page_items(HistoryEventSchema)


class AssignOneSchema(Schema):
    worker_id = fields.Integer(required=True, validate=USER_ID)
    reason = Text(required=True, validate=validate.OneOf(ASSIGN_REASONS))


class AssignManySchema(AssignOneSchema):
    client_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=500))


class AssignedClientSchema(Schema):
    id = fields.UUID()
    key_worker_id = fields.Integer(allow_none=True)
    version = fields.Integer()


class AssignResultSchema(Schema):
    worker_id = fields.Integer()
    assigned = fields.List(fields.UUID(), metadata={"description": "key worker changed"})
    unchanged = fields.List(fields.UUID(), metadata={"description": "already theirs"})
    follow_ups_moved = fields.Integer()
    clients = fields.List(fields.Nested(AssignedClientSchema))


class MergeSchema(Schema):
    other_client_id = fields.UUID(
        required=True,
        metadata={"description": "the record that becomes a tombstone pointing at this one"},
    )


class MergeResultSchema(Schema):
    client_id = fields.UUID()
    merged_client_id = fields.UUID()
    already_merged = fields.Boolean(metadata={"description": "true on a repeated merge"})
    interventions_moved = fields.Integer()
    follow_ups_moved = fields.Integer()
    duplicates_resolved = fields.List(fields.Integer())
    referrals_moved = fields.Integer(metadata={"description": "every team's, to the survivor"})
    episodes_moved = fields.Integer(metadata={"description": "every team's, to the survivor"})
    partner_teams = fields.Integer(
        metadata={"description": "partner teams that held the merged client and now hold this one"}
    )
    version = fields.Integer()
    server_seq = fields.Integer()


class DuplicateSchema(Schema):
    id = fields.Integer()
    client_id = fields.UUID()
    other_client_id = fields.UUID()
    detected_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolution = Text(allow_none=True)


class DuplicateClientSchema(Schema):
    id = fields.UUID()
    initials = Text(allow_none=True)
    date_of_birth = Text(allow_none=True, metadata={"description": "YYYY-MM-DD"})
    sex = Text(allow_none=True)
    postcode_district = Text(allow_none=True)
    known_as = Text(allow_none=True)
    key_worker_id = fields.Integer(allow_none=True)
    version = fields.Integer()
    created_at = Text(allow_none=True)


class DuplicatePairSchema(Schema):
    id = fields.Integer(metadata={"description": "the duplicate link (merge/dismiss it)"})
    detected_at = Text()
    client = fields.Nested(DuplicateClientSchema)
    other_client = fields.Nested(DuplicateClientSchema)


class DuplicatePageSchema(PageSchema):
    items = page_items(DuplicatePairSchema)


class FollowUpUpdateSchema(Schema):
    due_on = fields.Date(required=True)
