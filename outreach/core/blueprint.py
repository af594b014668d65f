"""The API's Blueprint: flask-smorest's, with a parser that holds requests to what the
OpenAPI document says of their bodies, and errors documented with their body."""

from __future__ import annotations

import flask_smorest
from marshmallow.utils import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request

from outreach.core.jsonio import BodyTooComplex, loads_request
from outreach.core.schemas import ErrorSchema


class ApiParser(FlaskParser):
    """A JSON body is required wherever an operation takes one (the document says so):
    without this, a PATCH with no body, or with a body not sent as JSON, was read as `{}`
    and answered 200 having changed nothing."""

    def _raw_load_json(self, req):
        """The body as the app reads JSON (`outreach.core.jsonio.loads_request`: orjson,
        nesting and size of objects capped), not the standard library's recursive
        parser, which crashed on a body of 100,000 `[`. A refused body answers 400."""
        if not is_json_request(req):
            return missing
        data = req.get_data(cache=True)
        if not data:
            return missing
        try:
            return loads_request(data)
        except BodyTooComplex as exc:
            abort(400, messages={"json": {"_schema": [str(exc)]}})

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

    def alt_response(self, status_code, response=None, *, schema=None, **kwargs):
        """Every error answers the one envelope (outreach.core.errors): an error response
        documented without a schema gets `ErrorSchema`, so the document shows its body."""
        if response is None and schema is None and int(status_code) >= 400:
            schema = ErrorSchema
        return super().alt_response(status_code, response, schema=schema, **kwargs)
