"""Admin API for areas, teams and users (/api/v1/admin/...)."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from outreach.access.guard import current_actor, require
from outreach.access.models import Area, Team, User
from outreach.access.scope import get_or_404
from outreach.core.blueprint import Blueprint
from outreach.core.pagination import paginate
from outreach.core.schemas import PageArgsSchema
from outreach.org import service
from outreach.org.schemas import (
    AreaPageSchema,
    AreaSchema,
    AreaUpdateSchema,
    TeamPageSchema,
    TeamSchema,
    TeamUpdateSchema,
    UserPageSchema,
    UserQueryArgsSchema,
    UserSchema,
    UserUpdateSchema,
)

blp = Blueprint(
    "admin_org", __name__, url_prefix="/api/v1/admin", description="Organisation (admin)"
)
ADMIN = ("admin",)


def _user_out(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "team_id": user.team_id,
        "active": user.active,
        "areas": [a.code for a in user.commissioner_areas],
    }


@blp.route("/areas")
class Areas(MethodView):
    decorators = [require(*ADMIN)]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, AreaPageSchema)
    def get(self, args):
        """List areas, by code."""
        return paginate(select(Area).order_by(Area.code), args)

    @blp.arguments(AreaSchema)
    @blp.response(201, AreaSchema)
    @blp.alt_response(409, description="Code already used")
    def post(self, args):
        """Create an area (a PCC area, with its region)."""
        return service.create_area(
            args["code"], args["name"], args["region"], actor_id=current_actor().id
        )


@blp.route("/areas/<int:area_id>")
class AreaById(MethodView):
    decorators = [require(*ADMIN)]

    @blp.arguments(AreaUpdateSchema)
    @blp.response(200, AreaSchema)
    @blp.alt_response(404, description="No such area")
    def patch(self, args, area_id):
        """Rename, re-region or deactivate an area."""
        return service.update_area(get_or_404(Area, area_id), args, actor_id=current_actor().id)


@blp.route("/teams")
class Teams(MethodView):
    decorators = [require(*ADMIN)]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, TeamPageSchema)
    def get(self, args):
        """List teams, by area and name."""
        return paginate(select(Team).order_by(Team.area_id, Team.name), args)

    @blp.arguments(TeamSchema)
    @blp.response(201, TeamSchema)
    @blp.alt_response(409, description="Name already used in the area")
    def post(self, args):
        """Create a provider team inside an area."""
        return service.create_team(
            args["area_id"], args["name"], args["provider"], actor_id=current_actor().id
        )


@blp.route("/teams/<int:team_id>")
class TeamById(MethodView):
    decorators = [require(*ADMIN)]

    @blp.arguments(TeamUpdateSchema)
    @blp.response(200, TeamSchema)
    @blp.alt_response(404, description="No such team")
    def patch(self, args, team_id):
        """Rename or deactivate a team."""
        return service.update_team(get_or_404(Team, team_id), args, actor_id=current_actor().id)


@blp.route("/users")
class Users(MethodView):
    decorators = [require(*ADMIN)]

    @blp.arguments(UserQueryArgsSchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """List users, filtered by role or team."""
        stmt = select(User)
        if args.get("role"):
            stmt = stmt.where(User.role == args["role"])
        if args.get("team_id"):
            stmt = stmt.where(User.team_id == args["team_id"])
        return paginate(stmt.order_by(User.id), args, row=_user_out)

    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, description="Email already used")
    def post(self, args):
        """Create a user with a role (and a team, or commissioner areas)."""
        user = service.create_user(
            args["email"],
            args["name"],
            args["role"],
            args["password"],
            team_id=args.get("team_id"),
            area_codes=args.get("areas"),
            actor_id=current_actor().id,
        )
        return _user_out(user)


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    decorators = [require(*ADMIN)]

    @blp.response(200, UserSchema)
    @blp.alt_response(404, description="No such user")
    def get(self, user_id):
        """One user."""
        return _user_out(get_or_404(User, user_id))

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(404, description="No such user")
    def patch(self, args, user_id):
        """Change a user's name, role, team, areas, password or active flag."""
        return _user_out(
            service.update_user(get_or_404(User, user_id), args, actor_id=current_actor().id)
        )
