"""The API's Blueprint: flask-smorest's, with a parser that holds requests to what the
OpenAPI document says of their bodies."""

from __future__ import annotations

import flask_smorest
from marshmallow.utils import missing
from webargs.flaskparser import FlaskParser, abort


class ApiParser(FlaskParser):
    """A JSON body is required wherever an operation takes one (the document says so):
    without this, a PATCH with no body, or with a body not sent as JSON, was read as `{}`
    and answered 200 having changed nothing."""

    def load_json(self, req, schema):
        data = super().load_json(req, schema)
        if data is missing:
            abort(
                422,
                messages={"json": {"_schema": ["A JSON body is required (application/json)."]}},
            )
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ApiParser()
