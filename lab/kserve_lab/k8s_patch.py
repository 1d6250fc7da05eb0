# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patch semantics of the Kubernetes API, as pure functions on dicts.

- JSON merge patch (RFC 7386)
- JSON patch (RFC 6902)
- strategic merge patch, for the lists the lab's kinds use: lists of objects
  that all carry a merge key (name, containerPort, type, ...) merge by it;
  other lists are replaced; `$patch: delete` removes an item or key
- server-side apply: field ownership per manager as sets of paths, conflicts,
  and removal of fields a manager stopped applying. Lists are atomic here
  (upstream merges some lists by key), which the lab documents.
"""

from __future__ import annotations

import copy
import json

MERGE_KEYS = ("name", "containerPort", "port", "type", "mountPath", "devicePath", "ip", "key", "topologyKey")
# Fields that identify an object rather than describe it; nobody owns them.
IDENTITY = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                 "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")


class PatchError(ValueError):
    """A patch that cannot be applied; the message is the API's."""


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(items):
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in MERGE_KEYS:
        if all(key in i for i in items):
            return key
    return None


def strategic_merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            merge_key = _merge_key(result[key] + [v for v in value if isinstance(v, dict) and "$patch" not in v]) \
                or _merge_key([v for v in value if isinstance(v, dict)])
            if merge_key is None:
                result[key] = copy.deepcopy(value)
                continue
            merged = copy.deepcopy(result[key])
            for item in value:
                index = next((n for n, cur in enumerate(merged) if cur.get(merge_key) == item.get(merge_key)), None)
                if item.get("$patch") == "delete":
                    if index is not None:
                        merged.pop(index)
                elif index is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[index] = strategic_merge_patch(merged[index], item)
            result[key] = merged
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % path)
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _walk(doc, parts):
    for part in parts:
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc[part]
        else:
            raise KeyError(part)
    return doc


def json_patch(target, operations):
    doc = copy.deepcopy(target)
    if not isinstance(operations, list):
        raise PatchError("json patch must be a list of operations")
    for op in operations:
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        try:
            if kind == "test":
                if _walk(doc, parts) != op.get("value"):
                    raise PatchError("testing value %s failed" % op.get("path"))
                continue
            if kind in ("move", "copy"):
                value = copy.deepcopy(_walk(doc, _pointer(op["from"])))
                if kind == "move":
                    source = _pointer(op["from"])
                    parent = _walk(doc, source[:-1])
                    parent.pop(int(source[-1]) if isinstance(parent, list) else source[-1])
                kind, op = "add", dict(op, value=value)
            parent = _walk(doc, parts[:-1])
            last = parts[-1]
            if kind == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op["value"]))
                else:
                    parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = copy.deepcopy(op["value"])
                else:
                    if last not in parent:
                        raise KeyError(last)
                    parent[last] = copy.deepcopy(op["value"])
            else:
                raise PatchError("unexpected op %r" % kind)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            if isinstance(exc, PatchError):
                raise
            raise PatchError("the server rejected our request due to an error in our request: %s: %s"
                             % (kind, op.get("path"))) from exc
    return doc


# --- server-side apply ------------------------------------------------------

def leaf_paths(obj, prefix=()):
    """Every owned path of an object: map keys recursed, lists and scalars are leaves."""
    paths = set()
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            path = prefix + (key,)
            server_owned = prefix == ("metadata",) and key in SERVER_FIELDS
            if path in IDENTITY or server_owned or path == ("status",):  # status is never applied
                continue
            paths |= leaf_paths(value, path)
    elif prefix:
        paths.add(prefix)
    return paths


def get_path(obj, path):
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return None, False
        obj = obj[part]
    return obj, True


def set_path(obj, path, value):
    for part in path[:-1]:
        obj = obj.setdefault(part, {})
    obj[path[-1]] = copy.deepcopy(value)


def remove_path(obj, path):
    parents = []
    for part in path[:-1]:
        if not isinstance(obj, dict) or part not in obj:
            return
        parents.append((obj, part))
        obj = obj[part]
    if isinstance(obj, dict):
        obj.pop(path[-1], None)
    for parent, part in reversed(parents):  # drop maps the removal emptied
        if parent[part] == {}:
            del parent[part]
        else:
            break


def fields_v1(paths):
    """Render owned paths in the FieldsV1 format ({"f:spec": {"f:replicas": {}}})."""
    tree = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault("f:" + part, {})
    return tree


class Conflict(Exception):
    def __init__(self, conflicts):
        super().__init__("conflicts")
        self.conflicts = conflicts  # [(manager, path)]

    def message(self, api_version):
        lines = ["conflict with \"%s\" using %s: .%s" % (manager.split("\0")[0], api_version, ".".join(path))
                 for manager, path in self.conflicts]
        if len(lines) == 1:
            return "Apply failed with 1 conflict: %s" % lines[0]
        return "Apply failed with %d conflicts: %s" % (len(lines), "\n".join(["- " + ln for ln in lines]))


def server_side_apply(live, applied, manager, owners, force=False):
    """Apply `applied` as `manager` to `live`.

    owners: {manager: {"operation": "Apply"|"Update", "paths": set of paths}}.
    Returns (new object, new owners). Raises Conflict when another manager owns
    a path with a different value and force is false.
    """
    live = copy.deepcopy(live) if live else {}
    owners = {m: {"operation": o["operation"], "paths": set(o["paths"])} for m, o in owners.items()}
    wanted = leaf_paths(applied)
    conflicts = []
    for other, owned in owners.items():
        if other == manager:
            continue
        for path in sorted(wanted & owned["paths"]):
            current, present = get_path(live, path)
            desired, _unused = get_path(applied, path)
            if present and current != desired:
                conflicts.append((other, path))
    if conflicts and not force:
        raise Conflict(conflicts)
    for other, path in conflicts:  # forced: ownership moves to this manager
        owners[other]["paths"].discard(path)
    previous = owners.get(manager, {"paths": set()})["paths"]
    shared = set().union(*[o["paths"] for m, o in owners.items() if m != manager]) if owners else set()
    for path in sorted(previous - wanted - shared, key=len, reverse=True):
        remove_path(live, path)
    for path in wanted:
        value, _unused = get_path(applied, path)
        set_path(live, path, value)
    for key in ("apiVersion", "kind"):
        if key in applied:
            live[key] = applied[key]
    meta = applied.get("metadata") or {}
    live.setdefault("metadata", {})
    for key in ("name", "namespace"):
        if key in meta:
            live["metadata"][key] = meta[key]
    owners[manager] = {"operation": "Apply", "paths": wanted}
    return live, {m: o for m, o in owners.items() if o["paths"]}


def record_update(before, after, manager, owners):
    """Ownership after a non-apply write: the writer owns the leaves it changed."""
    owners = {m: {"operation": o["operation"], "paths": set(o["paths"])} for m, o in owners.items()}
    changed = {p for p in leaf_paths(after) | leaf_paths(before or {})
               if get_path(before or {}, p) != get_path(after, p)}
    removed = {p for p in changed if not get_path(after, p)[1]}
    for owned in owners.values():
        owned["paths"] -= changed
    mine = owners.get(manager, {"operation": "Update", "paths": set()})
    if mine["operation"] != "Update":
        key = manager + "\0update"
        mine = owners.get(key, {"operation": "Update", "paths": set()})
        manager = key
    mine["paths"] |= changed - removed
    owners[manager] = mine
    return {m: o for m, o in owners.items() if o["paths"]}


def managed_fields(owners, api_version, now):
    entries = []
    for manager, owned in sorted(owners.items()):
        entries.append({"manager": manager.split("\0")[0], "operation": owned["operation"],
                        "apiVersion": api_version, "time": now, "fieldsType": "FieldsV1",
                        "fieldsV1": fields_v1(owned["paths"])})
    return entries


def canonical(obj):
    return json.dumps(obj, sort_keys=True)
