"""JSON encoding with orjson: request bodies, responses and the database's JSON columns.

Sync pages carry hundreds of records; the standard library's encoder spent several
milliseconds of every pull (bench/load.py). orjson writes the same JSON (datetimes as
ISO 8601, UUIDs as strings, compact separators) several times faster; anything it does
not know falls back to Flask's default conversions.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps_bytes(value: Any, *, indent: bool = False) -> bytes:
    option = _OPTIONS | orjson.OPT_INDENT_2 if indent else _OPTIONS
    try:
        return orjson.dumps(value, default=DefaultJSONProvider.default, option=option)
    except orjson.JSONEncodeError:
        # What orjson refuses and the standard library writes: a lone surrogate echoed
        # from a request (as \udc00), an integer beyond 64 bits. Never a pull page (its
        # text comes from the database, which cannot hold either).
        return json.dumps(
            value, default=DefaultJSONProvider.default, indent=2 if indent else None
        ).encode()


def dumps(value: Any) -> str:
    """JSON text of `value` (SQLAlchemy's `json_serializer`)."""
    return dumps_bytes(value).decode()


def loads(value: str | bytes | bytearray | memoryview) -> Any:
    """Parse JSON (SQLAlchemy's `json_deserializer`; psycopg hands it bytes)."""
    return orjson.loads(value)


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider on orjson. `dumps` calls asking for options (indent, sorted
    keys) take the standard library's path; responses always use orjson, which also
    writes JSON the database made (`orjson.Fragment`, see sync/records_json.py)."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        return dumps(obj)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:
            return super().loads(s, **kwargs)
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        body = dumps_bytes(obj, indent=self._app.debug)  # pretty for people debugging
        return self._app.response_class(body, mimetype=self.mimetype)  # type: ignore[arg-type]
