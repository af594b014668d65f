"""Pathways API (/api/v1/pathways/..., /api/v1/admin/partnerships): reads for teams and
leads, partnerships for admins. Referrals and episodes are written through sync push
(the phone is the system of record offline); see `outreach.pathways.service`."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView

from outreach.access.guard import current_actor, require
from outreach.access.models import Partnership
from outreach.access.scope import get_or_404, team_of
from outreach.core.blueprint import Blueprint
from outreach.core.pagination import paginate, paginate_list
from outreach.core.schemas import PageArgsSchema
from outreach.core.types import utcnow
from outreach.pathways import duplicates, partnerships, queries
from outreach.pathways.schemas import (
    ClientLinkSchema,
    ConfirmDuplicateSchema,
    EpisodePageSchema,
    PartnerDuplicatePageSchema,
    PartnerPageSchema,
    PartnershipPageSchema,
    PartnershipSchema,
    PartnershipUpdateSchema,
    PathwaySchema,
    ReferralPageSchema,
    ReferralQueryArgsSchema,
)

blp = Blueprint("pathways", __name__, url_prefix="/api/v1", description="Pathways")
TEAM = ("worker", "team_lead")


@blp.route("/admin/partnerships")
class Partnerships(MethodView):
    decorators = [require("admin")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, PartnershipPageSchema)
    def get(self, args):
        """List partnerships (data-sharing agreements between teams)."""
        today = utcnow().date()
        return paginate(
            partnerships.partnerships_query(),
            args,
            row=lambda p: partnerships.partnership_out(p, today),
        )

    @blp.arguments(PartnershipSchema)
    @blp.response(201, PartnershipSchema)
    @blp.alt_response(409, description="Agreement reference already used")
    def post(self, args):
        """Record a data-sharing agreement between teams (within or across areas)."""
        p = partnerships.create_partnership(args, actor_id=current_actor().id)
        return partnerships.partnership_out(p, utcnow().date())


@blp.route("/admin/partnerships/<int:partnership_id>")
class PartnershipById(MethodView):
    decorators = [require("admin")]

    @blp.arguments(PartnershipUpdateSchema)
    @blp.response(200, PartnershipSchema)
    @blp.alt_response(404, description="No such partnership")
    @blp.alt_response(409, description="Agreement reference already used")
    def patch(self, args, partnership_id):
        """Change an agreement: its dates (end it), reference, name or teams."""
        p = get_or_404(Partnership, partnership_id, "partnership")
        p = partnerships.update_partnership(p, args, actor_id=current_actor().id)
        return partnerships.partnership_out(p, utcnow().date())


@blp.route("/pathways/partners")
class Partners(MethodView):
    decorators = [require(*TEAM)]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, PartnerPageSchema)
    def get(self, args):
        """The teams the caller's team may refer to today (an agreement in force)."""
        team_id = team_of(current_actor())
        return paginate_list(queries.partners_of(team_id, utcnow().date()), args)


@blp.route("/pathways/referrals")
class Referrals(MethodView):
    decorators = [require(*TEAM)]

    @blp.arguments(ReferralQueryArgsSchema, location="query")
    @blp.response(200, ReferralPageSchema)
    def get(self, args):
        """The team's referrals: incoming (to the team), outgoing, or all."""
        team_id = team_of(current_actor())
        stmt = queries.referrals_query(team_id, args["direction"], args.get("status"))
        page = paginate(stmt, args)
        page["items"] = queries.rows_out(page["items"], team_id)
        return page


@blp.route("/pathways/waiting")
class Waiting(MethodView):
    decorators = [require("team_lead")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ReferralPageSchema)
    def get(self, args):
        """Referrals to the lead's team waiting for acceptance longer than
        OUTREACH_REFERRAL_WAIT_HOURS."""
        team_id = team_of(current_actor())
        hours = current_app.config["REFERRAL_WAIT_HOURS"]
        return paginate_list(queries.waiting_for_acceptance(team_id, utcnow(), hours), args)


@blp.route("/pathways/episodes/attention")
class EpisodesAttention(MethodView):
    decorators = [require("team_lead")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, EpisodePageSchema)
    def get(self, args):
        """The team's open diversion episodes due to end within
        OUTREACH_EPISODE_END_WARNING_DAYS, or with a session overdue."""
        team_id = team_of(current_actor())
        days = current_app.config["EPISODE_END_WARNING_DAYS"]
        rows = queries.episodes_needing_attention(team_id, utcnow().date(), days)
        return paginate_list(rows, args)


@blp.route("/pathways/clients/<uuid:client_id>")
class ClientPathway(MethodView):
    decorators = [require(*TEAM)]

    @blp.response(200, PathwaySchema)
    @blp.alt_response(404, description="No such client in your scope")
    def get(self, client_id: uuid.UUID):
        """Where a client the team holds is on their pathways (both teams see the steps)."""
        return queries.client_pathway(team_of(current_actor()), client_id)


@blp.route("/pathways/duplicates")
class PartnerDuplicates(MethodView):
    decorators = [require("team_lead")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, PartnerDuplicatePageSchema)
    def get(self, args):
        """Probable duplicates across partner teams: the lead's team's clients with the
        same match key as a partner team's client (an agreement in force)."""
        team_id = team_of(current_actor())
        return paginate_list(duplicates.partner_duplicates(team_id, utcnow().date()), args)

    @blp.arguments(ConfirmDuplicateSchema)
    @blp.response(200, ClientLinkSchema)
    @blp.alt_response(404, description="No such probable duplicate in your scope")
    def post(self, args):
        """Confirm that the two are one person (linked) or not (not_duplicate)."""
        return duplicates.confirm_duplicate(
            current_actor(), args["client_id"], args["other_client_id"], args["resolution"]
        )
