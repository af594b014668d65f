"""Text a database, a password hash or a UTF-8 response cannot hold (a lone surrogate, a
NUL character) is a field error wherever a request carries a string."""

from __future__ import annotations

import importlib
import json
import pkgutil
import uuid

import pytest
from marshmallow import Schema, fields

import outreach
from outreach.core.schemas import BROKEN_TEXT, Text

HALF_AN_EMOJI = "pass\ud83d"  # what a phone sends when it cuts an emoji in half


def _raw_post(client, path, body, headers=None):
    """Bodies written by the standard library: a lone surrogate travels as the escape
    \\ud83d, which is valid JSON text (orjson could not even write it)."""
    return client.post(
        path, data=json.dumps(body), headers={**(headers or {}), "Content-Type": "application/json"}
    )


@pytest.mark.parametrize("bad", [HALF_AN_EMOJI, "pass\x00word"])
def test_a_broken_password_at_sign_in_is_a_field_error(client, world, bad):
    """Before: a lone surrogate reached argon2, which failed to encode it (500), on the one
    endpoint anybody can call."""
    body = {"email": world.emails["worker"], "password": bad, "device_id": str(uuid.uuid4())}
    r = _raw_post(client, "/api/v1/auth/login", body)
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert list(r.get_json()["errors"]) == ["password"]


def test_a_broken_name_for_a_new_user_is_a_field_error_and_nothing_is_kept(login, world):
    """Before: the name reached the database driver, which could not encode it (500)."""
    admin = login("admin")
    body = {
        "email": "new.worker@example.test",
        "name": "Ann \udc00",
        "role": "worker",
        "team_id": world.team_ids["street"],
        "password": "a-long-enough-password",
    }
    r = _raw_post(admin.client, "/api/v1/admin/users", body, admin.headers)
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"name": [BROKEN_TEXT]}
    listed = admin.get("/api/v1/admin/users?per_page=200").get_json()["items"]
    assert "new.worker@example.test" not in [user["email"] for user in listed]


def test_every_string_field_of_every_schema_is_text():
    """A schema added with a plain `fields.String` would let broken text through again."""
    for module in pkgutil.walk_packages(outreach.__path__, "outreach."):
        importlib.import_module(module.name)
    plain = []
    for schema in _subclasses(Schema):
        if not schema.__module__.startswith("outreach."):
            continue
        for name, field in schema._declared_fields.items():
            for inner in _with_inner(field):
                if isinstance(inner, fields.String) and not isinstance(inner, Text):
                    plain.append(f"{schema.__module__}.{schema.__name__}.{name}")
    assert not plain, plain


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _with_inner(field):
    yield field
    for attr in ("inner", "key_field", "value_field"):
        inner = getattr(field, attr, None)
        if inner is not None:
            yield from _with_inner(inner)
