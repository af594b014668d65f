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


# A request body is refused (400) when nested deeper than this or when one object has
# more members: no request of the API comes near (a push is 4 deep), and either makes
# every later step (schemas, error lists) slow or recursive.
MAX_DEPTH = 32
MAX_MEMBERS = 1000


class BodyTooComplex(ValueError):
    """A request body over MAX_DEPTH or MAX_MEMBERS (a ValueError: Flask and webargs
    answer it 400, as any body that is not JSON)."""


def check_shape(value: Any) -> Any:
    """`value` if within MAX_DEPTH and MAX_MEMBERS, else BodyTooComplex. Iterative:
    never recursion, whatever the input."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BodyTooComplex(f"The body is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(item, dict):
            if len(item) > MAX_MEMBERS:
                raise BodyTooComplex(f"An object in the body has more than {MAX_MEMBERS} fields.")
            members: Any = item.values()
        elif isinstance(item, list):
            members = item
        else:
            continue
        stack.extend((m, depth + 1) for m in members if isinstance(m, dict | list))
    return value


def loads_request(value: str | bytes | bytearray | memoryview) -> Any:
    """Parse a request body: orjson (its own depth limit, no Python recursion), then the
    shape caps above. Raises ValueError (400) on anything refused."""
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        # What orjson refuses and JSON allows (a lone surrogate escaped as \udc00): the
        # standard library's reading, its recursion on deep nesting refused as such.
        try:
            parsed = json.loads(bytes(value) if isinstance(value, memoryview) else value)
        except RecursionError:
            raise BodyTooComplex(f"The body is nested more than {MAX_DEPTH} levels deep.") from None
    return check_shape(parsed)


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
        """Request bodies (`request.get_json`): parsed and held to the shape caps."""
        if kwargs:
            return check_shape(super().loads(s, **kwargs))
        return loads_request(s)

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        body = dumps_bytes(obj, indent=self._app.debug)  # pretty for people debugging
        return self._app.response_class(body, mimetype=self.mimetype)  # type: ignore[arg-type]
