from marshmallow import Schema, fields, validate

from outreach.access.models import ROLES
from outreach.access.passwords import MIN_PASSWORD_LENGTH
from outreach.core.schemas import Email, JsonBoolean, PageArgsSchema, PageSchema, Text, page_items

CODE = validate.Regexp(
    r"^[a-z0-9]+(-[a-z0-9]+)*$", error="Use lower-case letters, digits and hyphens."
)
# Names of areas, teams, providers and users: no control characters (a CR/LF in an
# area name broke its commissioners' report emails), as the services also hold.
NAME = [
    validate.Length(min=1, max=120),
    validate.Regexp(
        r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$",
        error="Names cannot hold control characters (line breaks, tabs).",
    ),
]
# The service's rule (outreach.access.passwords), documented so clients can check it first.
PASSWORD = validate.Length(min=MIN_PASSWORD_LENGTH, max=256)


class AreaSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = Text(required=True, validate=[validate.Length(min=2, max=64), CODE])
    name = Text(required=True, validate=NAME)
    region = Text(required=True, validate=NAME)
    active = fields.Boolean(dump_only=True)


class AreaPageSchema(PageSchema):
    items = page_items(AreaSchema)


class AreaUpdateSchema(Schema):
    name = Text(validate=NAME)
    region = Text(validate=NAME)
    active = JsonBoolean()


class TeamSchema(Schema):
    id = fields.Integer(dump_only=True)
    area_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    name = Text(required=True, validate=NAME)
    provider = Text(required=True, validate=NAME)
    active = fields.Boolean(dump_only=True)


class TeamPageSchema(PageSchema):
    items = page_items(TeamSchema)


class TeamUpdateSchema(Schema):
    name = Text(validate=NAME)
    provider = Text(validate=NAME)
    active = JsonBoolean()


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = Email(required=True, validate=validate.Length(max=254))
    name = Text(required=True, validate=NAME)
    role = Text(required=True, validate=validate.OneOf(ROLES))
    team_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**31 - 1))
    areas = fields.List(Text(validate=validate.Length(max=64)), validate=validate.Length(max=50))
    password = Text(required=True, load_only=True, validate=PASSWORD)
    active = fields.Boolean(dump_only=True)


class UserPageSchema(PageSchema):
    items = page_items(UserSchema)


class UserUpdateSchema(Schema):
    name = Text(validate=NAME)
    role = Text(validate=validate.OneOf(ROLES))
    team_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**31 - 1))
    areas = fields.List(Text(validate=validate.Length(max=64)), validate=validate.Length(max=50))
    password = Text(load_only=True, validate=PASSWORD)
    active = JsonBoolean()


class UserQueryArgsSchema(PageArgsSchema):
    role = Text(validate=validate.OneOf(ROLES))
    team_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
