"""Hold real responses to the app's own OpenAPI document (`/api/openapi.json`).

The document is OpenAPI 3.0.3, whose schemas are not quite JSON Schema: `nullable`
instead of a "null" type, `writeOnly` properties that a response never carries. Each
schema is turned into JSON Schema (draft 4, the dialect OpenAPI 3.0 builds on) and
checked with jsonschema_rs, formats included (uuid, date, date-time, email).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

import jsonschema_rs

SPEC_PATH = "/api/openapi.json"
# Keywords of OpenAPI's schema object that JSON Schema draft 4 lacks, or that mean
# something else there; `nullable` and `writeOnly` are rewritten before being dropped.
OPENAPI_ONLY = {"nullable", "readOnly", "writeOnly", "example", "discriminator", "deprecated"}
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def to_json_schema(node: Any) -> Any:
    """One OpenAPI 3.0 schema (and every schema inside it) as JSON Schema draft 4, as a
    response must satisfy it."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in OPENAPI_ONLY:
            continue
        if key == "properties":
            written = {name for name, prop in value.items() if prop.get("writeOnly")}
            out[key] = {
                name: to_json_schema(prop) for name, prop in value.items() if name not in written
            }
            if written and "required" in node:
                out["required"] = [name for name in node["required"] if name not in written]
        elif key == "required" and "required" in out:
            continue
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        elif key in SCHEMA_LISTS:
            out[key] = [to_json_schema(item) for item in value]
        else:
            out[key] = value
    if "required" in out and not out["required"]:
        del out["required"]  # draft 4 wants at least one name
    if node.get("nullable"):
        if "type" in out and "enum" not in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _is_date(value: str) -> bool:
    try:
        return len(value) == 10 and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


FORMATS = {"uuid": _is_uuid, "date": _is_date}


class Document:
    """The app's OpenAPI document and a checker of responses against it."""

    def __init__(self, app):
        self.app = app
        self.spec = app.test_client().get(SPEC_PATH).get_json()
        schemas = self.spec["components"]["schemas"]
        self.components = {"schemas": {name: to_json_schema(s) for name, s in schemas.items()}}
        self._validators: dict[int, tuple[Any, dict]] = {}
        self.checked: set[str] = set()

    def operations(self) -> Iterable[tuple[str, str, dict]]:
        """(METHOD, path template, operation) of every operation in the document."""
        for path, item in self.spec["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "responses" in operation:
                    yield method.upper(), path, operation

    def resolve(self, node: dict) -> dict:
        """Follow a `$ref` to `#/components/...` (responses, schemas)."""
        while "$ref" in node:
            *_, kind, name = node["$ref"].split("/")
            node = self.spec["components"][kind][name]
        return node

    def template(self, method: str, path: str) -> str:
        """The document's path of a request path, from the URL rule that answers it."""
        adapter = self.app.url_map.bind("localhost")
        rule, _ = adapter.match(path, method=method, return_rule=True)
        return RULE_ARGUMENT.sub(r"{\1}", rule.rule)

    def problems(self, schema: dict, body: Any) -> list[str]:
        """Where `body` breaks the OpenAPI `schema` (empty: it holds)."""
        cached = self._validators.get(id(schema))
        if cached is None:
            root = {**to_json_schema(schema), "components": self.components}
            validator = jsonschema_rs.Draft4Validator(
                root, validate_formats=True, formats=FORMATS, ignore_unknown_formats=False
            )
            cached = self._validators[id(schema)] = (validator, schema)  # schema kept: its id
        validator = cached[0]
        return [
            f"{'/'.join(map(str, error.instance_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(body)
        ]

    def check(self, response, status: int | None = None) -> Any:
        """Assert `response` is one its operation documents (status, media type, body
        schema); returns its JSON body. `status`: the one expected."""
        method, path = response.request.method, response.request.path
        if status is not None:
            assert response.status_code == status, (method, path, response.get_data()[:500])
        label = f"{method} {self.template(method, path)}"
        template = label.split(" ", 1)[1]
        responses = self.spec["paths"][template][method.lower()]["responses"]
        documented = responses.get(str(response.status_code)) or responses.get("default")
        assert documented, f"{label} answered {response.status_code}, not in the document"
        content = self.resolve(documented).get("content")
        if not content:
            assert not response.get_data(), f"{label}: a body the document does not describe"
            self.checked.add(label)
            return None
        assert response.mimetype in content, f"{label}: {response.mimetype} not documented"
        schema = content[response.mimetype].get("schema", {})
        body = response.get_json()
        problems = self.problems(schema, body)
        assert not problems, f"{label} {response.status_code}:\n" + "\n".join(problems)
        self.checked.add(label)
        return body
