"""Routes of the reports slice: commissioners' weekly summaries and admins' deliveries."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from sqlalchemy import select

from outreach.access.guard import current_actor, require
from outreach.access.scope import areas_of
from outreach.audit.service import record_event
from outreach.core.blueprint import Blueprint
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.pagination import paginate
from outreach.core.schemas import ErrorSchema
from outreach.reports import assembly, releases
from outreach.reports.models import ReportDelivery
from outreach.reports.released import released_report
from outreach.reports.render import render_csv, render_pdf
from outreach.reports.schemas import (
    DeliveryPageSchema,
    DeliveryQueryArgsSchema,
    WeeklyReportArgsSchema,
    WeeklyReportSchema,
)
from outreach.reports.weeks import IsoWeek, current_week

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Reports")

NO_STORE = {"Cache-Control": "no-store"}


NOT_FOUND = (
    "Area outside the caller's scope, a week that does not exist, or a week not released "
    "yet (the message gives its release date)"
)


def _resolve(args: dict) -> tuple[list[int], IsoWeek, str | None]:
    """The caller's areas (the whole scope), the week (404 for one that does not exist or
    has not started) and the area asked for (404).

    A commissioner's report is always cut from one release suppressed over every area
    and every commissioner's scope, so no two figures anyone can see combine to reveal
    a hidden one.
    """
    actor = current_actor()
    tz = current_app.config["TIMEZONE"]
    now = releases.clock()
    if args.get("week"):
        # The schema has checked the form (2026-W47); like an area outside the scope, a
        # week of that form with no report is a 404: one its year lacks, or one to come.
        try:
            week = IsoWeek.parse(args["week"])
        except ValueError as exc:
            raise ApiError(404, "There is no such week.", errors={"week": [str(exc)]}) from None
        if week > current_week(now, tz):
            raise ApiError(
                404,
                "There is no report for that week yet.",
                errors={"week": ["That week has not started."]},
            )
    elif args.get("draft"):
        week = current_week(now, tz)
    else:
        week = releases.latest_due_week(now)
    area = args.get("area")
    rows = areas_of(actor, code=area)
    return [area_id for area_id, _ in rows], week, area


def _report(args: dict, form: str) -> assembly.WeeklyReport:
    actor = current_actor()
    if args.get("draft") and not actor.is_admin:
        raise ApiError(403, "Only admins may see a draft; commissioners see released weeks.")
    area_ids, week, area = _resolve(args)
    if args.get("draft"):
        report = assembly.build_report(area_ids, week, now=releases.clock())
    else:
        try:
            report = released_report(area_ids, week, now=releases.clock())
        except releases.NotReleased as exc:
            raise ApiError(404, exc.message, errors={"week": [exc.reason]}) from None
    report = assembly.narrow_report(report, area) if area else report
    # Every view or download is audited with its week and areas (never folded away:
    # each download is a copy that left the system).
    record_event(
        "read.report",
        actor_id=actor.id,
        device_id=actor.device_id,
        entity="report",
        record_id=report.week,
        detail={
            "format": form,
            "week": report.week,
            "areas": [a["code"] for a in report.areas],
            **({"draft": True} if args.get("draft") else {}),
        },
    )
    db.session.commit()
    return report


def _filename(report: assembly.WeeklyReport, ext: str) -> str:
    codes = [a["code"] for a in report.areas]
    scope = codes[0] if len(codes) == 1 else "all-areas"
    return f"outreach-{report.week}-{scope}.{ext}"


@blp.route("/reports/weekly")
class WeeklyReport(MethodView):
    decorators = [require("commissioner", "admin")]

    @blp.arguments(WeeklyReportArgsSchema, location="query")
    @blp.response(200, WeeklyReportSchema, headers=None)
    @blp.alt_response(
        403, schema=ErrorSchema, description="Workers and team leads; a draft asked by a non-admin"
    )
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    @blp.alt_response(422, schema=ErrorSchema, description="Malformed week")
    def get(self, args):
        """Weekly summary (suppressed counts) for one of the caller's areas or all of them."""
        return _report(args, "json").public(), 200, NO_STORE


@blp.route("/reports/weekly.pdf")
class WeeklyReportPdf(MethodView):
    decorators = [require("commissioner", "admin")]

    @blp.arguments(WeeklyReportArgsSchema, location="query")
    @blp.doc(
        responses={
            200: {
                "description": "The weekly summary as an A4 PDF",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    )
    @blp.alt_response(
        403, schema=ErrorSchema, description="Workers and team leads; a draft asked by a non-admin"
    )
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    @blp.alt_response(422, schema=ErrorSchema, description="Malformed week")
    def get(self, args):
        """The weekly summary as the PDF commissioners receive by email."""
        report = _report(args, "pdf")
        return _download(render_pdf(report), "application/pdf", report, "pdf")


def _download(body, mimetype: str, report: assembly.WeeklyReport, extension: str) -> Response:
    """A report file as an attachment, never cached."""
    filename = _filename(report, extension)
    return Response(
        body,
        mimetype=mimetype,
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blp.route("/reports/weekly.csv")
class WeeklyReportCsv(MethodView):
    decorators = [require("commissioner", "admin")]

    @blp.arguments(WeeklyReportArgsSchema, location="query")
    @blp.doc(
        responses={
            200: {
                "description": "Suppressed counts of the 12-week window, one figure per row: "
                "week, week_start, scope, scope_name, measure, label, value; then the "
                "late-records release the week carries (week late-<month>)",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    )
    @blp.alt_response(
        403, schema=ErrorSchema, description="Workers and team leads; a draft asked by a non-admin"
    )
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    @blp.alt_response(422, schema=ErrorSchema, description="Malformed week")
    def get(self, args):
        """The suppressed counts as CSV."""
        report = _report(args, "csv")
        return _download(render_csv(report), "text/csv", report, "csv")


@blp.route("/admin/deliveries")
class Deliveries(MethodView):
    decorators = [require("admin")]

    @blp.arguments(DeliveryQueryArgsSchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Not an admin")
    def get(self, args):
        """Report deliveries, newest first: status, attempts, last error, next attempt."""
        stmt = select(ReportDelivery)
        if args.get("status"):
            stmt = stmt.where(ReportDelivery.status == args["status"])
        if args.get("period"):
            stmt = stmt.where(ReportDelivery.period == args["period"])
        stmt = stmt.order_by(ReportDelivery.period.desc(), ReportDelivery.id.desc())
        return paginate(stmt, args)
