"""Schemas of the reports API (what a UI renders; every figure is suppressed text)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from outreach.core.schemas import NO_NUL, PageArgsSchema

FIGURE = {"description": 'A published figure: "0", "12", "<5" (1 to 4) or "*" (hidden)'}


class WeeklyReportArgsSchema(Schema):
    week = fields.String(
        metadata={"description": "ISO week, e.g. 2026-W47 (default: the last complete week)"},
        validate=validate.Length(max=10),
    )
    area = fields.String(
        metadata={"description": "Area code (default: all the caller's areas)"},
        validate=validate.Length(max=64),
    )


class ReportScopeSchema(Schema):
    kind = fields.String(metadata={"enum": ["region", "area"]})
    code = fields.String(allow_none=True)
    name = fields.String()


class ReportHeadlineSchema(Schema):
    measure = fields.String()
    label = fields.String()
    value = fields.String(metadata=FIGURE)
    previous = fields.String(metadata={**FIGURE, "description": "Last week's figure"})
    change = fields.String(
        allow_none=True,
        metadata={"description": "Week-on-week change (+3, -2, 0); null when a figure is hidden"},
    )


class ReportTypeRowSchema(Schema):
    code = fields.String()
    label = fields.String()
    value = fields.String(metadata=FIGURE)


class ReportAreaRowSchema(Schema):
    code = fields.String()
    name = fields.String()
    value = fields.String(metadata=FIGURE)


class ReportTeamRowSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    value = fields.String(metadata=FIGURE)


class ReportTrendSchema(Schema):
    week = fields.String()
    week_start = fields.String()
    interventions = fields.String(metadata=FIGURE)
    clients = fields.String(metadata=FIGURE)
    treatment_entries = fields.String(metadata=FIGURE)


class ReportSectionSchema(Schema):
    scope = fields.Nested(ReportScopeSchema)
    headline = fields.List(fields.Nested(ReportHeadlineSchema))
    by_type = fields.List(fields.Nested(ReportTypeRowSchema))
    by_area = fields.List(
        fields.Nested(ReportAreaRowSchema), metadata={"description": "Region only"}
    )
    by_team = fields.List(fields.Nested(ReportTeamRowSchema), metadata={"description": "Area only"})
    trend = fields.List(fields.Nested(ReportTrendSchema), metadata={"description": "12 weeks"})


class ReportRevisionSchema(Schema):
    week = fields.String()
    scope = fields.String()
    scope_name = fields.String()
    measure = fields.String()
    label = fields.String()
    old = fields.String(metadata={**FIGURE, "description": "As last sent to the caller"})
    new = fields.String(metadata=FIGURE)


class ReportAreaSchema(Schema):
    code = fields.String()
    name = fields.String()
    region = fields.String()


class ReportDefinitionSchema(Schema):
    term = fields.String()
    definition = fields.String()


class WeeklyReportSchema(Schema):
    week = fields.String()
    week_start = fields.String()
    week_end = fields.String()
    timezone = fields.String()
    complete = fields.Boolean(metadata={"description": "False for the current, unfinished week"})
    data_read_at = fields.String(metadata={"description": "When the figures were read (UTC)"})
    areas = fields.List(fields.Nested(ReportAreaSchema))
    summary = fields.Nested(
        ReportSectionSchema,
        allow_none=True,
        metadata={"description": "Regional totals for several areas, else the one area"},
    )
    sections = fields.List(
        fields.Nested(ReportSectionSchema), metadata={"description": "One per area (several areas)"}
    )
    revisions = fields.List(fields.Nested(ReportRevisionSchema))
    suppression_note = fields.String()
    definitions = fields.List(fields.Nested(ReportDefinitionSchema))


class DeliveryQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(["pending", "sending", "sent", "failed"]))
    period = fields.String(validate=[validate.Length(max=8), NO_NUL])


class DeliverySchema(Schema):
    id = fields.Integer()
    recipient_id = fields.Integer()
    email = fields.String()
    period = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    claimed_until = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    pdf_sha256 = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
