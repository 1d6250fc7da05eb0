# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading Kubernetes objects: status conditions (for waits that look at many objects in one list
call), and JSON settings kept in ConfigMaps."""

from __future__ import annotations

import json


def condition_true(obj, condition):
    """Whether the object's status carries `condition` with status "True"."""
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == condition and str(c.get("status")) == "True" for c in conditions)


def merge_json_config(objects, namespace, name, overrides):
    """The objects, with the JSON-valued keys of ConfigMap namespace/name updated field by field.

    KServe keeps its settings as JSON documents under the keys of one ConfigMap
    (inferenceservice-config: deploy, ingress, ...). Server-side apply owns a key
    as a whole string, so the only way to change one field and keep upstream's
    others is to change the manifest before applying it. `overrides` maps a key
    to the fields to set (a field set to None is removed); keys without
    overrides keep their text unchanged.
    Raises ValueError when the ConfigMap or a key is missing, or not JSON.
    """
    found = False
    result = []
    for obj in objects or []:
        meta = obj.get("metadata") or {}
        if obj.get("kind") != "ConfigMap" or meta.get("name") != name or meta.get("namespace") != namespace:
            result.append(obj)
            continue
        found = True
        data = dict(obj.get("data") or {})
        for key, fields in (overrides or {}).items():
            if not fields:
                continue
            if key not in data:
                raise ValueError("ConfigMap %s/%s has no key %r to configure" % (namespace, name, key))
            try:
                current = json.loads(data[key])
            except ValueError as exc:
                raise ValueError("ConfigMap %s/%s key %r is not JSON: %s" % (namespace, name, key, exc)) from exc
            current.update((field, value) for field, value in fields.items() if value is not None)
            for field in [f for f, value in fields.items() if value is None]:
                current.pop(field, None)
            data[key] = json.dumps(current, indent=4, sort_keys=True)
        result.append(dict(obj, data=data))
    if not found:
        raise ValueError("the manifest has no ConfigMap %s/%s to configure" % (namespace, name))
    return result
