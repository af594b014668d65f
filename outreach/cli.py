"""`flask outreach ...`: the operators' command line."""

from __future__ import annotations

import sys
import uuid

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from outreach.core.errors import ApiError
from outreach.core.extensions import db

outreach_cli = AppGroup("outreach", help="Manage Outreach: organisation, demo data, reports.")


def _fail(exc: ApiError) -> None:
    detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.errors or {}).items())
    raise click.ClickException(f"{exc.message} {detail}".strip())


@outreach_cli.command("demo")
def demo_command() -> None:
    """Load the demo world (once; running it again changes nothing). Refused in
    production: its accounts share one published password."""
    from flask import current_app

    from outreach.demo import load_demo

    if current_app.config["OUTREACH_ENV"] == "production":
        raise click.ClickException(
            "The demo loader does not run in production (OUTREACH_ENV=production): its "
            "accounts share a published password."
        )
    if load_demo():
        click.echo("Demo data loaded. Every demo password is 'outreach-demo'.")
    else:
        click.echo("Demo data already present; nothing changed.")


areas_cli = AppGroup("areas", help="PCC areas.")
teams_cli = AppGroup("teams", help="Provider teams.")
users_cli = AppGroup("users", help="User accounts.")
devices_cli = AppGroup("devices", help="Devices (phones).")


@areas_cli.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--region", required=True)
def areas_create(code: str, name: str, region: str) -> None:
    """Create an area, e.g. `durham Durham --region "North East"`."""
    from outreach.org.service import create_area

    try:
        area = create_area(code, name, region, actor_id=None)
    except ApiError as exc:
        _fail(exc)
    click.echo(f"Area {area.code} created (id {area.id}).")


@areas_cli.command("list")
def areas_list() -> None:
    from outreach.access.models import Area

    for area in db.session.scalars(select(Area).order_by(Area.code)):
        click.echo(f"{area.id}\t{area.code}\t{area.name}\t{area.region}")


@teams_cli.command("create")
@click.argument("name")
@click.option("--area", "area_code", required=True, help="Area code")
@click.option("--provider", required=True)
def teams_create(name: str, area_code: str, provider: str) -> None:
    """Create a team inside an area."""
    from outreach.access.models import Area
    from outreach.org.service import create_team

    area = db.session.scalar(select(Area).where(Area.code == area_code))
    if area is None:
        raise click.ClickException(f"No area with code {area_code!r}.")
    try:
        team = create_team(area.id, name, provider, actor_id=None)
    except ApiError as exc:
        _fail(exc)
    click.echo(f"Team {team.name!r} created (id {team.id}).")


@teams_cli.command("list")
def teams_list() -> None:
    from outreach.access.models import Team

    for team in db.session.scalars(select(Team).order_by(Team.id)):
        click.echo(f"{team.id}\t{team.area.code}\t{team.name}\t{team.provider}")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option(
    "--role", type=click.Choice(["worker", "team_lead", "commissioner", "admin"]), required=True
)
@click.option("--team", "team_id", type=int, help="Team id (workers and team leads)")
@click.option("--area", "areas", multiple=True, help="Area code (commissioners; repeatable)")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of prompting",
)
def users_create(email, name, role, team_id, areas, password_stdin) -> None:
    """Create a user. The password is read from a prompt or stdin, never from argv."""
    from outreach.org.service import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(
            email, name, role, password, team_id=team_id, area_codes=list(areas), actor_id=None
        )
    except ApiError as exc:
        _fail(exc)
    click.echo(f"User {user.email} created (id {user.id}, role {user.role}).")


@users_cli.command("list")
def users_list() -> None:
    from outreach.access.models import User

    for user in db.session.scalars(select(User).order_by(User.id)):
        state = "active" if user.active else "inactive"
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{user.team_id or '-'}\t{state}")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Stop an account from signing in (its records stay)."""
    from outreach.access.models import User
    from outreach.org.service import update_user

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException("No such user.")
    update_user(user, {"active": False}, actor_id=None)
    click.echo(f"User {user.email} deactivated.")


@devices_cli.command("list")
@click.option("--user", "email", help="Only this user's devices")
def devices_list(email: str | None) -> None:
    from outreach.access.models import Device, User

    stmt = select(Device, User.email).join(User, Device.user_id == User.id)
    if email:
        stmt = stmt.where(User.email == email.strip().lower())
    for device, user_email in db.session.execute(stmt.order_by(Device.created_at)):
        state = f"revoked {device.revoked_at:%Y-%m-%d}" if device.revoked_at else "active"
        click.echo(f"{device.id}\t{user_email}\t{device.label or '-'}\t{state}")


@devices_cli.command("revoke")
@click.argument("device_id")
def devices_revoke(device_id: str) -> None:
    """Revoke a lost phone: its tokens stop working and its next contact wipes it."""
    from outreach.auth.service import revoke_device

    try:
        ident = uuid.UUID(device_id)
    except ValueError:
        raise click.ClickException("DEVICE_ID must be a UUID.") from None
    if revoke_device(ident, actor_id=None) is None:
        raise click.ClickException("No such device.")
    click.echo(f"Device {ident} revoked.")


def register_cli(app: Flask) -> None:
    for group in (areas_cli, teams_cli, users_cli, devices_cli):
        outreach_cli.add_command(group)
    from outreach.jobs.backup_cli import backup_cli
    from outreach.jobs.scheduler import scheduler
    from outreach.reports.cli import register_report_commands
    from outreach.retention.cli import retention_cli

    outreach_cli.add_command(retention_cli)
    outreach_cli.add_command(scheduler)
    outreach_cli.add_command(backup_cli)

    register_report_commands(outreach_cli)
    app.cli.add_command(outreach_cli)
