"""Access matrix: every API endpoint x every caller x records of three scopes -> status.

Callers: worker, team lead (both of the Durham street team), commissioner (Durham), admin,
a revoked device, an expired token, no token. Targets: records of the callers' own team,
of another team in the same area (Durham custody) and of another area (Dorset).

The table below must name every rule and method under /api/ in `app.url_map`: adding an
endpoint without a row here fails `test_every_api_endpoint_is_in_the_matrix`. Besides the
status, every response is searched for the markers (ids, initials, dates of birth, notes)
of records the caller must not see: nothing may leak, in a success or in an error.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import update

from outreach.access.models import Device
from outreach.auth.service import revoke_device
from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.people.models import Client, ClientDuplicate
from tests.caseload.matrix_rows import caseload_rows
from tests.conftest import ApiClient
from tests.factories import build_world, make_clients, make_follow_up, make_interventions
from tests.pathways.matrix_rows import pathways_rows

CALLERS = ("worker", "team_lead", "commissioner", "admin", "revoked", "expired", "anonymous")
SIGNED_IN = ("worker", "team_lead", "commissioner", "admin")
TARGETS = ("own", "same_area", "other_area")
WORLD_KEY = {"worker": "worker", "team_lead": "lead", "commissioner": "commissioner"}
WORLD_KEY["admin"] = "admin"
TEAM_OF_TARGET = {"own": "street", "same_area": "custody", "other_area": "dorset"}
AREA_OF_TARGET = {"own": "durham", "same_area": "durham", "other_area": "dorset"}
# Another user of each target's team (never a caller, so admin edits cannot lock one out).
USER_OF_TARGET = {"own": "worker2", "same_area": "custody", "other_area": "dorset"}
# Markers no other response could contain by chance (initials are 3 letters, quoted).
INITIALS = {"own": "QJX", "same_area": "ZQV", "other_area": "XVJ"}
BIRTH = {"own": date(1961, 2, 3), "same_area": date(1962, 3, 4), "other_area": date(1963, 4, 5)}
NOTES = {t: f"matrix-note-{t}-7f3a" for t in TARGETS}


# --- expected statuses --------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    status: int
    code: str | None = None  # the envelope's string code, e.g. device_revoked


Rule = Callable[[str, str], Expect]


def allow(ok: int, *roles: str, scope: dict[str, set[str]] | None = None) -> Rule:
    """`roles` get `ok` (or 404 for targets outside `scope[role]`); other signed-in roles
    403; a revoked device 401 device_revoked; an expired or missing token 401."""

    def rule(caller: str, target: str) -> Expect:
        if caller == "revoked":
            return Expect(401, "device_revoked")
        if caller in ("expired", "anonymous"):
            return Expect(401)
        if caller not in roles:
            return Expect(403)
        if scope is not None and caller in scope and target not in scope[caller]:
            return Expect(404)
        return Expect(ok)

    return rule


def public(ok: int) -> Rule:
    return lambda caller, target: Expect(ok)


def signed_in(ok: int) -> Rule:
    return allow(ok, *SIGNED_IN)


TEAM = {"own"}  # the street team's lead and workers see their team's records only
ANY = set(TARGETS)


# --- the world and the callers ------------------------------------------------------------


@dataclass
class Ctx:
    app: object
    client: object
    world: object
    sessions: dict[str, ApiClient] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)  # caller -> access/refresh
    clients: dict[str, uuid.UUID] = field(default_factory=dict)
    interventions: dict[str, uuid.UUID] = field(default_factory=dict)
    follow_ups: dict[str, uuid.UUID] = field(default_factory=dict)
    partners: dict[str, uuid.UUID] = field(default_factory=dict)  # a probable duplicate
    duplicates: dict[str, int] = field(default_factory=dict)  # the link between the two
    devices: dict[str, uuid.UUID] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=itertools.count)

    def team(self, target: str) -> int:
        return self.world.team_ids[TEAM_OF_TARGET[target]]

    def area(self, target: str) -> int:
        return self.world.area_ids[AREA_OF_TARGET[target]]

    def user(self, target: str) -> int:
        return self.world.user_ids[USER_OF_TARGET[target]]

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def markers(self, target: str) -> dict[str, list[str]]:
        """Strings that only a response about `target`'s records could contain."""
        return {
            "ids": [
                str(x)
                for x in (
                    self.clients[target],
                    self.interventions[target],
                    self.follow_ups[target],
                    self.partners[target],
                )
            ],
            "personal": [f'"{INITIALS[target]}"', BIRTH[target].isoformat(), NOTES[target]],
        }

    def login(self, who: str) -> ApiClient:
        return ApiClient(self.client, self.world.emails[WORLD_KEY.get(who, who)])


def _records(ctx: Ctx) -> None:
    w = ctx.world
    for target in TARGETS:
        team, area = ctx.team(target), ctx.area(target)
        worker = ctx.user(target)
        client, partner = make_clients(team, area, 2, key_worker_id=worker)
        intervention = make_interventions(team, area, worker, 1, client_ids=[client["id"]])[0]
        follow = make_follow_up(client["id"], team, date.today() + timedelta(days=3))
        db.session.execute(
            update(Client)
            .where(Client.id == client["id"])
            .values(initials=INITIALS[target], date_of_birth=BIRTH[target])
        )
        db.session.execute(
            update(Intervention)
            .where(Intervention.id == intervention["id"])
            .values(notes=NOTES[target])
        )
        db.session.commit()
        ctx.clients[target] = client["id"]
        ctx.interventions[target] = intervention["id"]
        ctx.follow_ups[target] = follow["id"]
        ctx.partners[target] = partner["id"]
        link = ClientDuplicate(team_id=team, client_id=client["id"], other_client_id=partner["id"])
        db.session.add(link)
        db.session.commit()
        ctx.duplicates[target] = link.id
    del w


def _tokens_for(ctx: Ctx, caller: str) -> dict[str, str]:
    """Access and refresh token of a caller, made fresh for callers whose state a call spends."""
    if caller in SIGNED_IN:
        session = ctx.login(caller)
        return {"access": session.access_token, "refresh": session.refresh_token}
    if caller == "revoked":
        session = ctx.login("worker")
        with ctx.app.app_context():
            revoke_device(session.device_id, actor_id=None)
        return {"access": session.access_token, "refresh": session.refresh_token}
    if caller == "expired":
        session = ctx.login("worker")
        with ctx.app.app_context():
            device = db.session.get(Device, session.device_id)
            claims = {"dev": str(device.id), "fam": str(device.token_family), "role": "worker"}
            past = -timedelta(minutes=5)
            identity = str(device.user_id)
            access = create_access_token(identity, additional_claims=claims, expires_delta=past)
            refresh = create_refresh_token(identity, additional_claims=claims, expires_delta=past)
            return {"access": access, "refresh": refresh}
    return {}


@pytest.fixture
def ctx(app, client) -> Ctx:
    with app.app_context():
        world = build_world()
        c = Ctx(app=app, client=client, world=world)
        _records(c)
    for caller in CALLERS:
        c.tokens[caller] = _tokens_for(c, caller)
    return c


# --- the matrix ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """How to call one endpoint for a target, and what each caller must get."""

    expect: Rule
    build: Callable[[Ctx, str], dict] = lambda ctx, target: {}
    path: str | Callable[[Ctx, str], str] | None = None  # default: the rule itself
    targets: tuple[str, ...] = ("own",)
    token: str = "access"  # which of the caller's tokens to send as the bearer
    spends_session: bool = False  # the call ends the caller's session: fresh tokens each time
    # Positive control: a 2xx for these callers must show the own team's client's initials
    # (so the leak search above is looking at real data, not at an empty page).
    shows_own: tuple[str, ...] = ()


def _user_body(ctx: Ctx, target: str) -> dict:
    return {
        "email": f"{ctx.unique('new')}@example.test",
        "name": "New Worker",
        "role": "worker",
        "team_id": ctx.team(target),
        "password": "a-long-password",
    }


def _login_body(ctx: Ctx, target: str) -> dict:
    return {
        "email": ctx.world.emails[USER_OF_TARGET[target]],
        "password": "correct-horse-battery",
        "device_id": str(uuid.uuid4()),
    }


def _new_device_of(ctx: Ctx, target: str) -> uuid.UUID:
    """A device of the target's user, signed in just for this call."""
    return ApiClient(ctx.client, ctx.world.emails[USER_OF_TARGET[target]]).device_id


def _report_path(ext: str) -> Callable[[Ctx, str], str]:
    return lambda ctx, target: f"/api/v1/reports/weekly{ext}?area={AREA_OF_TARGET[target]}"


COMMISSIONER_AREA = {"commissioner": {"own", "same_area"}}  # Durham's commissioner
TEAM_ROLES = ("worker", "team_lead")


def _edit_push(ctx: Ctx, target: str) -> dict:
    """A phone edits a client of `target`'s team (other teams' records must be refused
    without echoing them back)."""
    return {
        "json": {
            "device_id": str(uuid.uuid4()),
            "schema_version": 1,
            "mutations": [
                {
                    "mutation_id": str(uuid.uuid4()),
                    "entity": "client",
                    "op": "upsert",
                    "id": str(ctx.clients[target]),
                    "base_version": 1,
                    "data": {
                        "initials": "AA",
                        "date_of_birth": "1990-01-01",
                        "sex": "male",
                        "postcode_district": "DH1",
                    },
                }
            ],
        }
    }


MATRIX: dict[tuple[str, str], Call] = {
    # --- account, health, auth
    ("GET", "/api/v1/me"): Call(signed_in(200)),
    ("GET", "/api/v1/health"): Call(public(200)),
    ("POST", "/api/v1/auth/login"): Call(
        public(200), build=lambda ctx, t: {"json": _login_body(ctx, t)}, targets=TARGETS
    ),
    ("POST", "/api/v1/auth/refresh"): Call(signed_in(200), token="refresh", spends_session=True),
    ("POST", "/api/v1/auth/logout"): Call(signed_in(204), spends_session=True),
    ("POST", "/api/v1/auth/device-key"): Call(signed_in(200)),
    ("POST", "/api/v1/auth/pin-failures"): Call(
        signed_in(204), build=lambda ctx, t: {"json": {"count": 1}}
    ),
    ("GET", "/api/v1/auth/team-lock-events"): Call(allow(200, "team_lead")),
    # --- reports (commissioners: their areas; admin: all)
    ("GET", "/api/v1/reports/weekly"): Call(
        allow(200, "commissioner", "admin", scope=COMMISSIONER_AREA),
        path=_report_path(""),
        targets=("own", "other_area"),
    ),
    ("GET", "/api/v1/reports/weekly.csv"): Call(
        allow(200, "commissioner", "admin", scope=COMMISSIONER_AREA),
        path=_report_path(".csv"),
        targets=("own", "other_area"),
    ),
    ("GET", "/api/v1/reports/weekly.pdf"): Call(
        allow(200, "commissioner", "admin", scope=COMMISSIONER_AREA),
        path=_report_path(".pdf"),
        targets=("own", "other_area"),
    ),
    ("GET", "/api/v1/admin/deliveries"): Call(allow(200, "admin")),
    # --- organisation (admin)
    ("GET", "/api/v1/admin/areas"): Call(allow(200, "admin")),
    ("POST", "/api/v1/admin/areas"): Call(
        allow(201, "admin"),
        build=lambda ctx, t: {
            "json": {"code": ctx.unique("area-"), "name": "New area", "region": "North East"}
        },
    ),
    ("PATCH", "/api/v1/admin/areas/<int:area_id>"): Call(
        allow(200, "admin"),
        path=lambda ctx, t: f"/api/v1/admin/areas/{ctx.area(t)}",
        build=lambda ctx, t: {"json": {"name": ctx.unique("Area ")}},
        targets=TARGETS,
    ),
    ("GET", "/api/v1/admin/teams"): Call(allow(200, "admin")),
    ("POST", "/api/v1/admin/teams"): Call(
        allow(201, "admin"),
        build=lambda ctx, t: {
            "json": {"area_id": ctx.area(t), "name": ctx.unique("Team "), "provider": "P"}
        },
        targets=TARGETS,
    ),
    ("PATCH", "/api/v1/admin/teams/<int:team_id>"): Call(
        allow(200, "admin"),
        path=lambda ctx, t: f"/api/v1/admin/teams/{ctx.team(t)}",
        build=lambda ctx, t: {"json": {"provider": ctx.unique("Provider ")}},
        targets=TARGETS,
    ),
    ("GET", "/api/v1/admin/users"): Call(allow(200, "admin")),
    ("POST", "/api/v1/admin/users"): Call(
        allow(201, "admin"), build=lambda ctx, t: {"json": _user_body(ctx, t)}, targets=TARGETS
    ),
    ("GET", "/api/v1/admin/users/<int:user_id>"): Call(
        allow(200, "admin"),
        path=lambda ctx, t: f"/api/v1/admin/users/{ctx.user(t)}",
        targets=TARGETS,
    ),
    ("PATCH", "/api/v1/admin/users/<int:user_id>"): Call(
        allow(200, "admin"),
        path=lambda ctx, t: f"/api/v1/admin/users/{ctx.user(t)}",
        build=lambda ctx, t: {"json": {"name": ctx.unique("Renamed ")}},
        targets=TARGETS,
    ),
    ("GET", "/api/v1/admin/devices"): Call(allow(200, "admin")),
    ("POST", "/api/v1/admin/devices/<uuid:device_id>/revoke"): Call(
        allow(200, "admin"),
        path=lambda ctx, t: f"/api/v1/admin/devices/{_new_device_of(ctx, t)}/revoke",
        targets=TARGETS,
    ),
    ("GET", "/api/v1/admin/audit"): Call(allow(200, "admin")),
    # --- sync (workers and team leads; the team's records only)
    ("POST", "/api/v1/sync/push"): Call(allow(200, *TEAM_ROLES), build=_edit_push, targets=TARGETS),
    ("GET", "/api/v1/sync/pull"): Call(
        allow(200, *TEAM_ROLES), path="/api/v1/sync/pull?limit=500", shows_own=TEAM_ROLES
    ),
}
# The caseload slice keeps its rows next to its code (tests/caseload/matrix_rows.py).
MATRIX.update(caseload_rows(Call, allow, TARGETS, TEAM))
MATRIX.update(pathways_rows(Call, allow, TARGETS, TEAM))

# Not part of the API surface: the OpenAPI document and the docs page (public, no data).
NOT_API = {"/api/openapi.json", "/api/docs", "/api/docs/assets/<path:filename>"}


def api_rules(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.rule not in NOT_API
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_api_endpoint_is_in_the_matrix(app):
    missing = sorted(api_rules(app) - set(MATRIX))
    stale = sorted(set(MATRIX) - api_rules(app))
    assert not missing, f"endpoints without a row in the access matrix: {missing}"
    assert not stale, f"matrix rows for endpoints that no longer exist: {stale}"


def _forbidden_markers(ctx: Ctx, caller: str, status: int) -> list[str]:
    """What `caller` must never read in this response."""
    if caller in ("worker", "team_lead") and 200 <= status < 300:
        hidden = [t for t in TARGETS if t not in TEAM]
        return [m for t in hidden for kind in ctx.markers(t).values() for m in kind]
    if caller == "admin" and 200 <= status < 300:
        # Admins see ids (audit log, devices) but never a client's personal attributes here.
        return [m for t in TARGETS for m in ctx.markers(t)["personal"]]
    # Commissioners never see a client; errors and unauthenticated callers never see a record.
    return [m for t in TARGETS for kind in ctx.markers(t).values() for m in kind]


def _call(ctx: Ctx, method: str, rule: str, spec: Call, caller: str, target: str):
    path = spec.path or rule
    if callable(path):
        path = path(ctx, target)
    kwargs = dict(spec.build(ctx, target))
    tokens = _tokens_for(ctx, caller) if spec.spends_session else ctx.tokens[caller]
    token = tokens.get(spec.token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return path, ctx.client.open(path, method=method, headers=headers, **kwargs), kwargs


@pytest.mark.parametrize(("method", "rule"), sorted(MATRIX), ids=lambda v: v)
def test_access(ctx, method, rule):
    spec = MATRIX[(method, rule)]
    problems = []
    for caller, target in itertools.product(CALLERS, spec.targets):
        expected = spec.expect(caller, target)
        path, response, kwargs = _call(ctx, method, rule, spec, caller, target)
        label = f"{caller} -> {target}: {method} {path}"
        if response.status_code != expected.status:
            problems.append(
                f"{label}: {response.status_code} (expected {expected.status}) "
                f"{response.get_data()[:200]!r}"
            )
            continue
        if response.status_code >= 400:
            body = response.get_json(silent=True) or {}
            if body.get("code") != (expected.code or expected.status):
                problems.append(f"{label}: envelope code {body.get('code')!r}")
        text = response.get_data(as_text=True) if response.mimetype != "application/pdf" else ""
        sent = path + repr(kwargs)
        leaked = [
            m
            for m in _forbidden_markers(ctx, caller, response.status_code)
            if m in text and m not in sent
        ]
        if leaked:
            problems.append(f"{label}: leaked {leaked}")
        if caller in spec.shows_own and target == "own" and f'"{INITIALS["own"]}"' not in text:
            problems.append(f"{label}: the team's own client is missing from the answer")
    assert not problems, "\n".join(problems)


def test_a_revoked_device_cannot_sign_in_again(ctx):
    """The login row above uses new devices; the revoked phone itself is refused for good."""
    phone = ctx.login("worker")
    with ctx.app.app_context():
        revoke_device(phone.device_id, actor_id=None)
    for who in ("worker", "admin"):  # its owner, or anyone else on that phone
        r = ctx.client.post(
            "/api/v1/auth/login",
            json={
                "email": ctx.world.emails[WORLD_KEY[who]],
                "password": "correct-horse-battery",
                "device_id": str(phone.device_id),
            },
        )
        assert r.status_code == 401 and r.get_json()["code"] == "device_revoked"
        assert "access_token" not in r.get_data(as_text=True)
