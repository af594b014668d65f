"""Schemas of the reports API (what a UI renders; every figure is suppressed text)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from outreach.core.schemas import PageArgsSchema, PageSchema, Text, page_items

FIGURE = {"description": 'A published figure: "0", "12", "<5" (1 to 4) or "*" (hidden)'}


# The weeks a caller may ask for: years 2000-2999 (so a report's 12-week trend never
# reaches a year without four digits), weeks 01-53 (whether the year has a week 53, or the
# week has ended, the service checks).
API_WEEK = r"^2\d{3}-W(0[1-9]|[1-4]\d|5[0-3])$"
WEEK_FORMAT_ERROR = "Use an ISO week such as 2026-W47."


class WeeklyReportArgsSchema(Schema):
    week = Text(
        metadata={"description": "ISO week, e.g. 2026-W47 (default: the last complete week)"},
        validate=validate.Regexp(API_WEEK, error=WEEK_FORMAT_ERROR),
    )
    area = Text(
        metadata={"description": "Area code (default: all the caller's areas)"},
        validate=validate.Length(max=64),
    )
    draft = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Admins only: the week counted live now, marked as a draft "
            "(default week: the current one). Never sent to commissioners."
        },
    )


class ReportScopeSchema(Schema):
    kind = Text(metadata={"enum": ["region", "area"]})
    code = Text(allow_none=True)
    name = Text()


class ReportHeadlineSchema(Schema):
    measure = Text()
    label = Text()
    value = Text(metadata=FIGURE)
    previous = Text(metadata={**FIGURE, "description": "Last week's figure"})
    change = Text(
        allow_none=True,
        metadata={"description": "Week-on-week change (+3, -2, 0); null when a figure is hidden"},
    )


class ReportTypeRowSchema(Schema):
    code = Text()
    label = Text()
    value = Text(metadata=FIGURE)


class ReportAreaRowSchema(Schema):
    code = Text()
    name = Text()
    value = Text(metadata=FIGURE)


class ReportTeamRowSchema(Schema):
    id = fields.Integer()
    name = Text()
    value = Text(metadata=FIGURE)


class ReportTrendSchema(Schema):
    week = Text()
    week_start = Text()
    interventions = Text(metadata=FIGURE)
    clients = Text(metadata=FIGURE)
    treatment_entries = Text(metadata=FIGURE)


class ReportPathwayFigureSchema(Schema):
    measure = Text(
        metadata={"description": "referrals_made, referrals_accepted, first_contacts, ..."}
    )
    label = Text()
    value = Text(
        metadata={
            "description": "A count as published (0, 12, <5, *); the median in days, "
            "* where hidden (fewer than 5 first contacts) or n/a (none)"
        }
    )


class ReportCohortSchema(Schema):
    window_weeks = fields.Integer(metadata={"description": "3, 6 or 12"})
    cohort_week = Text(metadata={"example": "2026-W44"})
    cohort_week_start = Text()
    referred = Text()
    entered = Text(metadata={"description": "Entered treatment within the window"})


class ReportPathwaysSchema(Schema):
    figures = fields.List(fields.Nested(ReportPathwayFigureSchema))
    cohorts = fields.List(fields.Nested(ReportCohortSchema))


class ReportSectionSchema(Schema):
    scope = fields.Nested(ReportScopeSchema)
    headline = fields.List(fields.Nested(ReportHeadlineSchema))
    by_type = fields.List(fields.Nested(ReportTypeRowSchema))
    by_area = fields.List(
        fields.Nested(ReportAreaRowSchema), metadata={"description": "Region only"}
    )
    by_team = fields.List(fields.Nested(ReportTeamRowSchema), metadata={"description": "Area only"})
    trend = fields.List(fields.Nested(ReportTrendSchema), metadata={"description": "12 weeks"})
    pathways = fields.Nested(
        ReportPathwaysSchema,
        metadata={"description": "Released weeks: referrals, episodes and referral cohorts"},
    )


class ReportLateFigureSchema(Schema):
    measure = Text()
    label = Text()
    value = Text(metadata=FIGURE)


class ReportLateSectionSchema(Schema):
    scope = fields.Nested(ReportScopeSchema)
    figures = fields.List(fields.Nested(ReportLateFigureSchema))


class ReportLateRecordsSchema(Schema):
    period = Text(metadata={"description": "The month the late records were counted for"})
    counted_on = Text(metadata={"description": "When they were counted and released (UTC)"})
    weeks = Text(allow_none=True, metadata={"description": "Released weeks they fall in"})
    note = Text()
    sections = fields.List(fields.Nested(ReportLateSectionSchema))


class ReportAreaSchema(Schema):
    code = Text()
    name = Text()
    region = Text()


class ReportDefinitionSchema(Schema):
    term = Text()
    definition = Text()


class WeeklyReportSchema(Schema):
    week = Text()
    week_start = Text()
    week_end = Text()
    timezone = Text()
    complete = fields.Boolean(
        metadata={"description": "False for the current, unfinished week (drafts only)"}
    )
    draft = fields.Boolean(metadata={"description": "True: a live count for admins, unreleased"})
    released_at = Text(
        allow_none=True, metadata={"description": "When the week was released (UTC); null: draft"}
    )
    release_note = Text(metadata={"description": "When and how the figures were released"})
    data_read_at = Text(metadata={"description": "When the figures were read (UTC)"})
    areas = fields.List(fields.Nested(ReportAreaSchema))
    summary = fields.Nested(
        ReportSectionSchema,
        allow_none=True,
        metadata={"description": "Regional totals for several areas, else the one area"},
    )
    sections = fields.List(
        fields.Nested(ReportSectionSchema), metadata={"description": "One per area (several areas)"}
    )
    late_records = fields.Nested(
        ReportLateRecordsSchema,
        allow_none=True,
        metadata={
            "description": "The latest monthly count of records that arrived late for "
            "released weeks (released weeks themselves are never revised)"
        },
    )
    suppression_note = Text()
    definitions = fields.List(fields.Nested(ReportDefinitionSchema))


class DeliveryQueryArgsSchema(PageArgsSchema):
    status = Text(validate=validate.OneOf(["pending", "sending", "sent", "failed"]))
    period = Text(validate=validate.Length(max=8))


class DeliverySchema(Schema):
    id = fields.Integer()
    recipient_id = fields.Integer()
    email = Text()
    period = Text()
    status = Text()
    attempts = fields.Integer()
    last_error = Text(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    claimed_until = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    pdf_sha256 = Text(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class DeliveryPageSchema(PageSchema):
    items = page_items(DeliverySchema)
