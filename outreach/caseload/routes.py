"""Routes of the caseload slice: team leads review, reassign and merge; workers see
their own caseload. Records outside the caller's team answer 404; a wrong role 403."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from outreach.access.guard import current_actor, require
from outreach.access.scope import out_of_scope, team_of
from outreach.audit.reads import record_read
from outreach.caseload import follow_ups, lists, merge, queries, selection, service
from outreach.caseload.clock import make_clock
from outreach.caseload.history import client_history
from outreach.caseload.schemas import (
    AssignManySchema,
    AssignOneSchema,
    AssignResultSchema,
    AttentionArgsSchema,
    ClientFilterArgsSchema,
    ClientPageSchema,
    DuplicatePageSchema,
    DuplicateSchema,
    FollowUpSchema,
    FollowUpUpdateSchema,
    HistorySchema,
    InterventionListArgsSchema,
    InterventionPageSchema,
    MergeResultSchema,
    MergeSchema,
    MineSchema,
    OverviewSchema,
)
from outreach.core.blueprint import Blueprint
from outreach.core.pagination import paginate, paginate_list
from outreach.core.schemas import PageArgsSchema
from outreach.people.service import duplicate_pair_out, probable_duplicates_query

blp = Blueprint("caseload", __name__, url_prefix="/api/v1", description="Caseload")

LEAD = ("team_lead",)
TEAM = ("worker", "team_lead")


@blp.after_request
def _no_store(response):
    """Caseload responses hold personal data: never kept in an HTTP cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _clock():
    return make_clock(tz=current_app.config.get("TIMEZONE"))


def _audited(action: str, body: dict, args: dict, *, name: str, ids=None):
    """Audit a list of personal data read (the ids shown, the list's filters): `body`."""
    actor = current_actor()
    items = body.get("items", ())
    shown = ids(items) if ids is not None else [item.get("id") for item in items]
    record_read(
        action,
        actor_id=actor.id,
        device_id=actor.device_id,
        query={"list": name, **args},
        ids=[i for i in shown if i is not None],
    )
    return body


def _pair_clients(items) -> list:
    return [c["id"] for pair in items for c in (pair["client"], pair["other_client"])]


@blp.route("/caseload/overview")
class CaseloadOverview(MethodView):
    decorators = [require(*LEAD)]

    @blp.response(200, OverviewSchema)
    @blp.alt_response(403, description="Not a team lead")
    def get(self):
        """The team at a glance, one row per worker.

        Open clients (key worker, not deleted), interventions this ISO week and the 4 whole
        weeks before it (Europe/London), open follow-ups due from today to 7 days ahead and
        overdue (assignee, else the client's key worker), last sync of any of their devices.
        """
        actor = current_actor()
        return queries.team_overview(team_of(actor), _clock())


@blp.route("/caseload/attention")
class CaseloadAttention(MethodView):
    decorators = [require(*LEAD)]

    @blp.arguments(AttentionArgsSchema, location="query")
    @blp.response(200, ClientPageSchema)
    @blp.alt_response(403, description="Not a team lead")
    def get(self, args):
        """Clients who need the lead's attention, with the reasons.

        Reasons: `no_contact` (no intervention for `no_contact_days`, counted from creation
        if never seen), `overdue_follow_up`, `treatment_not_confirmed` (referred to
        structured treatment `referral_days` ago or more, no treatment entry confirmed
        since), `duplicate` (an unresolved probable-duplicate link).
        """
        team_id = team_of(current_actor())
        clock = _clock()
        rows = queries.client_summaries(team_id, clock)
        selected = selection.select_clients(
            rows,
            clock,
            team_id=team_id,
            args=args,
            attention=(args["no_contact_days"], args["referral_days"]),
        )
        body = {**clock.describe(), "generated_at": clock.now, **paginate_list(selected, args)}
        return _audited("read.client_list", body, args, name="attention")


@blp.route("/caseload/clients")
class CaseloadClients(MethodView):
    decorators = [require(*LEAD)]

    @blp.arguments(ClientFilterArgsSchema, location="query")
    @blp.response(200, ClientPageSchema)
    @blp.alt_response(403, description="Not a team lead")
    def get(self, args):
        """The team's live clients with contact and follow-up facts; filter, sort, page."""
        team_id = team_of(current_actor())
        clock = _clock()
        rows = queries.client_summaries(team_id, clock)
        selected = selection.select_clients(rows, clock, team_id=team_id, args=args)
        body = {**clock.describe(), "generated_at": clock.now, **paginate_list(selected, args)}
        return _audited("read.client_list", body, args, name="clients")


@blp.route("/caseload/interventions")
class CaseloadInterventions(MethodView):
    decorators = [require(*LEAD)]

    @blp.arguments(InterventionListArgsSchema, location="query")
    @blp.response(200, InterventionPageSchema)
    @blp.alt_response(403, description="Not a team lead")
    def get(self, args):
        """The team's interventions by worker, type, client and date range, newest first."""
        team_id = team_of(current_actor())
        stmt = lists.team_interventions_query(team_id, _clock(), args)
        body = paginate(stmt, args, row=lists.intervention_out)
        return _audited("read.intervention_list", body, args, name="interventions")


@blp.route("/caseload/mine")
class CaseloadMine(MethodView):
    decorators = [require(*TEAM)]

    @blp.arguments(ClientFilterArgsSchema, location="query")
    @blp.response(200, MineSchema)
    @blp.alt_response(403, description="Not a worker or team lead")
    def get(self, args):
        """The caller's own caseload (workers and leads).

        Their overview row, their clients (filters and sorting as the team list) and their
        open follow-ups due within 7 days or overdue.
        """
        actor = current_actor()
        team_id = team_of(actor)
        clock = _clock()
        overview = queries.team_overview(team_id, clock)
        me = next((w for w in overview["workers"] if w["worker_id"] == actor.id), None)
        rows = [
            r for r in queries.client_summaries(team_id, clock) if r["key_worker_id"] == actor.id
        ]
        args = {**args, "worker_id": None, "unassigned": False}
        selected = selection.select_clients(rows, clock, team_id=team_id, args=args)
        body = {
            **clock.describe(),
            "generated_at": clock.now,
            "worker": me,
            "follow_ups": lists.open_follow_ups(team_id, clock, owner_id=actor.id),
            **paginate_list(selected, args),
        }
        return _audited("read.client_list", body, args, name="mine")


@blp.route("/clients/<uuid:client_id>/history")
class ClientHistory(MethodView):
    decorators = [require(*TEAM)]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, HistorySchema)
    @blp.alt_response(404, description="No such client in the caller's team")
    def get(self, args, client_id):
        """A client's history, newest first: `items` are its events, `client` its summary.

        Every intervention, follow-up, key-worker change and merge, with who recorded it
        and when it was recorded (`recorded_at`) versus when it happened (`occurred_at`).
        """
        actor = current_actor()
        team_id = team_of(actor)
        client = service.team_client(actor, client_id, shared=True)
        clock = _clock()
        summaries = queries.client_summaries(team_id, clock, only=client.id)
        if not summaries:  # shared, but no longer held (a decline in between)
            raise out_of_scope("client")
        history = client_history(client, team_id)
        body = {"client": summaries[0], **paginate_list(history, args)}
        record_read(
            "read.client_history",
            actor_id=actor.id,
            device_id=actor.device_id,
            entity="client",
            record_id=client.id,
        )
        return body


@blp.route("/clients/<uuid:client_id>/assign")
class ClientAssign(MethodView):
    decorators = [require(*LEAD)]

    @blp.arguments(AssignOneSchema)
    @blp.response(200, AssignResultSchema)
    @blp.alt_response(404, description="No such client or worker in the caller's team")
    def post(self, args, client_id):
        """Make another worker of the team this client's key worker (with a reason code)."""
        return service.assign_clients(
            current_actor(), [client_id], args["worker_id"], args["reason"]
        )


@blp.route("/caseload/assign")
class CaseloadAssign(MethodView):
    decorators = [require(*LEAD)]

    @blp.arguments(AssignManySchema)
    @blp.response(200, AssignResultSchema)
    @blp.alt_response(404, description="A client or the worker is not in the caller's team")
    def post(self, args):
        """Reassign up to 500 clients at once; all or nothing."""
        return service.assign_clients(
            current_actor(), args["client_ids"], args["worker_id"], args["reason"]
        )


@blp.route("/clients/<uuid:client_id>/merge")
class ClientMerge(MethodView):
    decorators = [require(*LEAD)]

    @blp.arguments(MergeSchema)
    @blp.response(200, MergeResultSchema)
    @blp.alt_response(404, description="Either client is not in the caller's team")
    @blp.alt_response(409, description="This client was merged away, or the other was deleted")
    def post(self, args, client_id):
        """Merge another client into this one (this one survives; repeat-safe)."""
        return merge.merge_clients(current_actor(), client_id, args["other_client_id"])


@blp.route("/caseload/duplicates")
class CaseloadDuplicates(MethodView):
    decorators = [require(*LEAD)]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, DuplicatePageSchema)
    @blp.alt_response(403, description="Not a team lead")
    def get(self, args):
        """Unresolved probable duplicates of the team, oldest first.

        Merge one into the other (POST /clients/{id}/merge) or dismiss the link.
        """
        stmt = probable_duplicates_query(team_of(current_actor()))
        body = paginate(stmt, args, row=duplicate_pair_out)
        return _audited("read.duplicate_pairs", body, args, name="duplicates", ids=_pair_clients)


@blp.route("/caseload/duplicates/<int:duplicate_id>/dismiss")
class DuplicateDismiss(MethodView):
    decorators = [require(*LEAD)]

    @blp.response(200, DuplicateSchema)
    @blp.alt_response(404, description="No such duplicate link in the caller's team")
    @blp.alt_response(409, description="Already merged")
    def post(self, duplicate_id):
        """Mark a probable duplicate as two different people (repeat-safe)."""
        return merge.dismiss_duplicate(current_actor(), duplicate_id)


@blp.route("/follow-ups/<uuid:follow_up_id>/close")
class FollowUpClose(MethodView):
    decorators = [require(*LEAD)]

    @blp.response(200, FollowUpSchema)
    @blp.alt_response(404, description="No such follow-up in the caller's team")
    def post(self, follow_up_id):
        """Close a follow-up of the team (repeat-safe)."""
        return lists.follow_up_out(follow_ups.close_follow_up(current_actor(), follow_up_id))


@blp.route("/follow-ups/<uuid:follow_up_id>")
class FollowUpById(MethodView):
    decorators = [require(*LEAD)]

    @blp.arguments(FollowUpUpdateSchema)
    @blp.response(200, FollowUpSchema)
    @blp.alt_response(404, description="No such follow-up in the caller's team")
    @blp.alt_response(409, description="The follow-up is closed")
    def patch(self, args, follow_up_id):
        """Re-date an open follow-up of the team."""
        fu = follow_ups.redate_follow_up(current_actor(), follow_up_id, args["due_on"])
        return lists.follow_up_out(fu)
