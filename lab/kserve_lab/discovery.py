# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Request bodies checked against Google's API discovery documents.

The documents are the ones google-api-python-client ships
(googleapiclient/discovery_cache/documents/<api>.<version>.json), so the twins
accept the fields and types the real APIs accept. Errors are worded the way
Google's JSON-to-proto parser words them, with the proto (snake_case) path:
  Invalid JSON payload received. Unknown name "foo" at 'cluster': Cannot find field.
  Invalid value at 'cluster.initial_node_count' (TYPE_INT32), "three"
"""

from __future__ import annotations

import functools
import json
import os
import re

from .core import ApiError

INT_RE = re.compile(r"^-?\d+$")
NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


@functools.lru_cache(maxsize=None)
def load(api, version):
    import googleapiclient
    path = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents",
                        "%s.%s.json" % (api, version))
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def snake(name):
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _type_name(schema):
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "string" and fmt in ("int64", "uint64"):
        return "TYPE_%s" % fmt.upper()
    if kind == "string" and "enum" in schema:
        return "TYPE_ENUM"
    if kind == "integer":
        return "TYPE_%s" % (fmt or "int32").upper()
    if kind == "number":
        return "TYPE_%s" % ("FLOAT" if fmt == "float" else "DOUBLE")
    if kind == "boolean":
        return "TYPE_BOOL"
    return "TYPE_STRING"


class Validator:
    def __init__(self, api, version):
        self.doc = load(api, version)
        self.schemas = self.doc["schemas"]

    def check(self, schema_name, value, path):
        """Raise ApiError(400) for the first unknown field or wrong type."""
        self._check({"$ref": schema_name}, value, path)

    def _invalid_value(self, schema, value, path):
        shown = json.dumps(value)
        raise ApiError(400, "Invalid value at '%s' (%s), %s" % (path, _type_name(schema), shown),
                       details=[_violation(path, "Invalid value at '%s' (%s), %s"
                                           % (path, _type_name(schema), shown))])

    def _check(self, schema, value, path):
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        kind = schema.get("type")
        if value is None:
            return
        if kind == "object" and "properties" in schema:
            if not isinstance(value, dict):
                raise ApiError(400, "Invalid JSON payload received. Expected an object at '%s'." % path)
            props = schema["properties"]
            for key, item in value.items():
                name = key if key in props else camel(key)
                if name not in props:
                    message = ("Invalid JSON payload received. Unknown name \"%s\" at '%s': Cannot find field."
                               % (key, path))
                    raise ApiError(400, message, details=[_violation(path, message)])
                self._check(props[name], item, "%s.%s" % (path, snake(name)) if path else snake(name))
        elif kind == "object" and "additionalProperties" in schema:
            if not isinstance(value, dict):
                raise ApiError(400, "Invalid JSON payload received. Expected an object at '%s'." % path)
            for key, item in value.items():
                self._check(schema["additionalProperties"], item, "%s[%s]" % (path, json.dumps(key)))
        elif kind == "array":
            if not isinstance(value, list):
                raise ApiError(400, "Invalid JSON payload received. Expected a list at '%s'." % path)
            for index, item in enumerate(value):
                self._check(schema["items"], item, "%s[%d]" % (path, index))
        elif kind == "string":
            fmt = schema.get("format")
            if fmt in ("int64", "uint64"):
                ok = (isinstance(value, int) and not isinstance(value, bool)) or \
                    (isinstance(value, str) and INT_RE.match(value))
            elif "enum" in schema:
                ok = isinstance(value, str) and value in schema["enum"]
            else:
                ok = isinstance(value, str)
            if not ok:
                self._invalid_value(schema, value, path)
        elif kind == "integer":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or \
                (isinstance(value, str) and INT_RE.match(value))
            if not ok:
                self._invalid_value(schema, value, path)
        elif kind == "number":
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or \
                (isinstance(value, str) and NUMBER_RE.match(value))
            if not ok:
                self._invalid_value(schema, value, path)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self._invalid_value(schema, value, path)


def _violation(field, description):
    return {"@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": description}]}
