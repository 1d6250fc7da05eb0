# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes API twin's object store and API semantics, without HTTP.

Objects are plain dicts. Every write bumps one resourceVersion counter and is
kept in a short history that watches replay. Errors are raised as K8sError and
rendered as metav1.Status by the HTTP layer.
"""

from __future__ import annotations

import copy
import datetime
import re
import threading
import time
import uuid

from . import k8s_patch
from .k8s_resources import Resource, builtin_resources

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
HISTORY = 5000


def version_priority(version):
    """Kubernetes' version order (a sort key): GA before beta before alpha, higher numbers first, then others
    by name, as the API server orders a group's versions (and so picks its preferred one)."""
    found = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version)
    if not found:
        return (3, 0, 0, version)
    major, stage, minor = found.groups()
    return ({None: 0, "beta": 1, "alpha": 2}[stage], -int(major), -int(minor or 0), version)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class K8sError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self):
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, "details": self.details, "code": self.code}


def resource_label(res):
    return res.plural if not res.group else "%s.%s" % (res.plural, res.group)


def not_found(res, name):
    return K8sError(404, "NotFound", "%s \"%s\" not found" % (resource_label(res), name),
                    {"name": name, "group": res.group, "kind": res.plural})


# --- selectors ----------------------------------------------------------------

SELECTOR_RE = re.compile(r"^\s*(!?)([\w./-]+)\s*(?:(==|=|!=)\s*([\w./-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_selector(text):
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def label_matcher(selector):
    """A predicate for a labelSelector string (=, ==, !=, in, notin, exists, !exists)."""
    tests = []
    for part in _split_selector(selector or ""):
        match = SELECTOR_RE.match(part)
        if not match:
            raise K8sError(400, "BadRequest", "unable to parse requirement: %r" % part)
        negate, key, op, value, set_op, values = match.groups()
        if op:
            tests.append((lambda labels, k=key, o=op, v=value:
                          (labels.get(k) == v) if o in ("=", "==") else (labels.get(k) != v)))
        elif set_op:
            members = {v.strip() for v in values.split(",")}
            tests.append((lambda labels, k=key, s=set_op, m=members:
                          (labels.get(k) in m) if s == "in" else (labels.get(k) not in m)))
        else:
            tests.append((lambda labels, k=key, n=negate: (k in labels) != bool(n)))
    return lambda obj: all(test((obj.get("metadata") or {}).get("labels") or {}) for test in tests)


def field_matcher(selector):
    tests = []
    for part in _split_selector(selector or ""):
        negate = "!=" in part
        key, value = part.split("!=" if negate else ("==" if "==" in part else "="), 1)
        path = key.strip().split(".")
        tests.append((path, value.strip(), negate))

    def match(obj):
        for path, value, negate in tests:
            current, _unused = k8s_patch.get_path(obj, path)
            if (str(current if current is not None else "") == value) == negate:
                return False
        return True
    return match


# --- schema validation of custom resources ---------------------------------------

def _join(path, key):
    return "%s.%s" % (path, key) if path else key


def validate_schema(schema, value, path, errors, unknown):
    """Structural-schema checks: type, enum, required, bounds, unknown fields."""
    if schema is None or value is None:
        return
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind in types:
        ok = isinstance(value, types[kind])
    else:
        ok = True
    if not ok and schema.get("x-kubernetes-int-or-string") and isinstance(value, (int, str)):
        ok = True
    if not ok:
        errors.append("%s: Invalid value: \"%s\": %s in body must be of type %s: \"%s\""
                      % (path, type(value).__name__.replace("str", "string").replace("int", "integer")
                         .replace("dict", "object").replace("list", "array"), path, kind,
                         type(value).__name__.replace("str", "string").replace("int", "integer")
                         .replace("dict", "object").replace("list", "array")))
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: Unsupported value: %s: supported values: %s"
                      % (path, _quote(value), ", ".join(_quote(v) for v in schema["enum"])))
    if kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append("%s: Invalid value: %s: %s in body should be greater than or equal to %s"
                          % (path, value, path, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errors.append("%s: Invalid value: %s: %s in body should be less than or equal to %s"
                          % (path, value, path, schema["maximum"]))
    if kind == "object":
        props = schema.get("properties")
        for name in schema.get("required", []):
            if name not in value:
                errors.append("%s: Required value" % _join(path, name))
        for key, item in list(value.items()):
            if props is not None and key in props:
                validate_schema(props[key], item, _join(path, key), errors, unknown)
            elif schema.get("additionalProperties") not in (None, False) and isinstance(
                    schema["additionalProperties"], dict):
                validate_schema(schema["additionalProperties"], item, _join(path, key), errors, unknown)
            elif props is not None and not schema.get("x-kubernetes-preserve-unknown-fields"):
                unknown.append(_join(path, key))
                del value[key]  # pruned, as the API server prunes
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            validate_schema(schema["items"], item, "%s[%d]" % (path, index), errors, unknown)


def _quote(value):
    return "\"%s\"" % value if isinstance(value, str) else str(value)


# --- the store ------------------------------------------------------------------

class Store:
    """Objects of one cluster, with discovery, CRDs, watches and field ownership."""

    def __init__(self, version="v1.33.5-gke.1162000", crd_delay=0.0, clock=time.monotonic):
        self.version = version
        self.crd_delay = crd_delay
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.objects = {}    # (group, plural, namespace, name) -> object
        self.owners = {}     # same key -> {manager: {"operation", "paths"}}
        self.history = []    # (resourceVersion, group, plural, type, object)
        self.rv = 100
        self.resources = {(r.group, r.version, r.plural): r for r in builtin_resources()}
        self.pending_crds = {}  # name -> time it becomes Established
        self.hooks = []      # callables(event_type, resource, obj) for simulated controllers
        self.admission = []  # callables(operation, resource, obj, old) that may raise K8sError
        self.logs = {}       # (namespace, pod name) -> the pod's log text, written by the simulated kubelet
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            with self.lock:
                self._put(self.resources[("", "v1", "namespaces")], {
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": now_iso()},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}, "ADDED")

    # --- persistence --------------------------------------------------------
    def snapshot(self):
        """Everything a restart needs, as plain data."""
        with self.lock:
            return {"rv": self.rv, "objects": [[list(k), o] for k, o in self.objects.items()],
                    "owners": [[list(k), o] for k, o in self.owners.items()],
                    "logs": [[list(k), text] for k, text in self.logs.items()]}

    def restore(self, data):
        """Load a snapshot: objects, field owners, logs; CRDs that were Established serve their kinds again."""
        with self.lock:
            self.rv = max(self.rv, int(data["rv"]))
            self.objects = {tuple(k): o for k, o in data["objects"]}
            self.owners = {tuple(k): o for k, o in data["owners"]}
            self.logs = {tuple(k): text for k, text in data.get("logs", [])}
            for (group, plural, _ns, _name), crd in list(self.objects.items()):
                if (group, plural) == ("apiextensions.k8s.io", "customresourcedefinitions"):
                    established = any(c.get("type") == "Established" and c.get("status") == "True"
                                      for c in (crd.get("status") or {}).get("conditions") or [])
                    if established:
                        self._register_crd(crd)
                    else:
                        self.pending_crds[crd["metadata"]["name"]] = self.clock()

    # --- discovery --------------------------------------------------------
    def tick(self):
        """Establish CRDs whose delay passed (called before each request)."""
        with self.lock:
            for name, due in list(self.pending_crds.items()):
                if self.clock() >= due:
                    del self.pending_crds[name]
                    crd = self.objects.get(("apiextensions.k8s.io", "customresourcedefinitions", "", name))
                    if crd:
                        self._establish(crd)

    def _register_crd(self, crd):
        spec = crd["spec"]
        names = spec["names"]
        for version in spec.get("versions", []):
            if not version.get("served", True):
                continue
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            has_status = "status" in (version.get("subresources") or {})
            self.resources[(spec["group"], version["name"], names["plural"])] = Resource(
                spec["group"], version["name"], names["plural"], names["kind"], spec.get("scope") == "Namespaced",
                names.get("shortNames", []), has_status, schema, names.get("categories", []))

    def _name_conflict(self, crd):
        """(reason, message) when an Established CRD of the same group already uses one of crd's names,
        as the API server's naming controller says it; else None."""
        spec = crd["spec"]
        names = spec["names"]
        for key, other in self.objects.items():
            if key[:2] != ("apiextensions.k8s.io", "customresourcedefinitions") or key[3] == crd["metadata"]["name"]:
                continue
            accepted = (other.get("status") or {}).get("acceptedNames")
            if other["spec"]["group"] != spec["group"] or not accepted:
                continue
            for field, reason in (("plural", "PluralConflict"), ("singular", "SingularConflict"),
                                  ("kind", "KindConflict"), ("listKind", "ListKindConflict")):
                if names.get(field) and names[field] in (accepted.get("plural"), accepted.get("singular"),
                                                         accepted.get("kind"), accepted.get("listKind")):
                    return reason, '"%s" is already in use' % names[field]
            for short in names.get("shortNames") or []:
                if short in (accepted.get("shortNames") or []):
                    return "ShortNamesConflict", '"%s" is already in use' % short
        return None

    def _establish(self, crd):
        names = crd["spec"]["names"]
        spec = crd["spec"]
        stamp = now_iso()
        updated = copy.deepcopy(crd)
        conflict = self._name_conflict(crd)
        if conflict:  # never Established while another CRD holds the name (it is retried when that one goes)
            updated["status"] = {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": [], "conditions": [
                {"type": "NamesAccepted", "status": "False", "reason": conflict[0], "message": conflict[1],
                 "lastTransitionTime": stamp},
                {"type": "Established", "status": "False", "reason": "NotAccepted",
                 "message": "not all names are accepted", "lastTransitionTime": stamp}]}
            self._put(self.resources[("apiextensions.k8s.io", "v1", "customresourcedefinitions")], updated, "MODIFIED")
            return
        self._register_crd(crd)
        updated["status"] = {
            "acceptedNames": dict(names),
            "storedVersions": [v["name"] for v in spec.get("versions", []) if v.get("storage")],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": stamp},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": stamp}]}
        self._put(self.resources[("apiextensions.k8s.io", "v1", "customresourcedefinitions")], updated, "MODIFIED")

    def _unregister_crd(self, crd):
        spec = crd["spec"]
        for version in spec.get("versions", []):
            self.resources.pop((spec["group"], version["name"], spec["names"]["plural"]), None)

    def group_versions(self):
        """Each group's versions, the preferred first, in the API server's version priority."""
        with self.lock:
            groups = {}
            for (group, version, _unused), _res in sorted(self.resources.items()):
                groups.setdefault(group, [])
                if version not in groups[group]:
                    groups[group].append(version)
            return {group: sorted(versions, key=version_priority) for group, versions in groups.items()}

    def resource_list(self, group, version):
        with self.lock:
            found = [r for (g, v, _unused), r in sorted(self.resources.items()) if g == group and v == version]
        return [entry for r in found for entry in r.discovery()]

    def find(self, group, version, plural):
        with self.lock:
            res = self.resources.get((group, version, plural))
        if res is None:
            raise K8sError(404, "NotFound", "the server could not find the requested resource")
        return res

    # --- internals --------------------------------------------------------
    def _next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _put(self, res, obj, event):
        meta = obj["metadata"]
        meta["resourceVersion"] = self._next_rv()
        key = (res.group, res.plural, meta.get("namespace", ""), meta["name"])
        if event == "DELETED":
            self.objects.pop(key, None)
            self.owners.pop(key, None)
        else:
            self.objects[key] = obj
        self.history.append((int(meta["resourceVersion"]), res.group, res.plural, event, copy.deepcopy(obj)))
        del self.history[:-HISTORY]
        self.changed.notify_all()
        for hook in list(self.hooks):
            hook(event, res, copy.deepcopy(obj))
        return obj

    def _check_namespace(self, res, namespace, creating=False):
        if not res.namespaced:
            return
        ns = self.objects.get(("", "namespaces", "", namespace))
        if ns is None:
            raise K8sError(404, "NotFound", "namespaces \"%s\" not found" % namespace,
                           {"name": namespace, "kind": "namespaces"})
        if creating and ns["metadata"].get("deletionTimestamp"):
            raise K8sError(403, "Forbidden", "%s \"%s\" is forbidden: unable to create new content in namespace %s "
                           "because it is being terminated" % (resource_label(res), "", namespace))

    def _validate(self, res, obj, validation):
        """CRD schema validation and pruning; returns warnings."""
        if res.schema is None:
            return []
        errors, unknown = [], []
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        schema = dict(res.schema)
        schema_props = {k: v for k, v in (schema.get("properties") or {}).items()
                        if k not in ("apiVersion", "kind", "metadata")}
        validate_schema(dict(schema, properties=schema_props), body, "", errors, unknown)
        errors = [e.lstrip(".") for e in errors]
        name = obj["metadata"].get("name", "")
        if errors:
            causes = [{"reason": "FieldValueInvalid", "field": e.split(": ", 1)[0], "message": e.split(": ", 1)[1]}
                      for e in errors]
            raise K8sError(422, "Invalid", "%s.%s \"%s\" is invalid: %s" % (
                res.kind, res.group, name, "; ".join(errors) if len(errors) == 1 else
                "[%s]" % ", ".join(errors)), {"name": name, "group": res.group, "kind": res.kind,
                                              "causes": causes})
        if unknown and validation == "Strict":
            raise K8sError(400, "BadRequest", "strict decoding error: %s" % ", ".join(
                "unknown field \"%s\"" % u for u in unknown))
        for key in list(obj):
            if key not in ("apiVersion", "kind", "metadata"):
                del obj[key]
        obj.update(body)
        return ["unknown field \"%s\"" % u for u in unknown] if validation != "Ignore" else []

    @staticmethod
    def _same(before, after):
        def strip(obj):
            obj = copy.deepcopy(obj)
            for field in ("managedFields", "resourceVersion", "generation"):
                obj["metadata"].pop(field, None)
            return k8s_patch.canonical(obj)
        return strip(before) == strip(after)

    def _spec_of(self, obj):
        return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}

    def _finish(self, res, key, before, after, owners, dry_run, event):
        meta = after["metadata"]
        if before is not None:
            meta["uid"] = before["metadata"]["uid"]
            meta["creationTimestamp"] = before["metadata"]["creationTimestamp"]
            meta["generation"] = before["metadata"].get("generation", 1) + (
                self._spec_of(before) != self._spec_of(after))
            if before["metadata"].get("deletionTimestamp"):
                meta["deletionTimestamp"] = before["metadata"]["deletionTimestamp"]
        if before is not None and self._same(before, after) and owners == self.owners.get(key):
            return before  # a no-op write: the API server stores nothing and keeps the resourceVersion
        meta["managedFields"] = k8s_patch.managed_fields(owners, res.group_version, now_iso())
        if not meta["managedFields"]:
            del meta["managedFields"]
        if dry_run:
            meta.setdefault("resourceVersion", before["metadata"]["resourceVersion"] if before else "")
            return after
        if before is not None and meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self.owners.pop(key, None)
            self._put(res, after, "DELETED")
            self._after_delete(res, after)
            return after
        self.owners[key] = owners
        return self._put(res, after, event)

    # --- verbs ------------------------------------------------------------
    def get(self, res, namespace, name):
        with self.lock:
            obj = self.objects.get((res.group, res.plural, namespace if res.namespaced else "", name))
            if obj is None:
                raise not_found(res, name)
            return copy.deepcopy(obj)

    def list(self, res, namespace=None, label_selector=None, field_selector=None):
        labels, fields = label_matcher(label_selector), field_matcher(field_selector)
        with self.lock:
            items = [copy.deepcopy(o) for (g, p, ns, _unused), o in sorted(self.objects.items())
                     if g == res.group and p == res.plural and (not namespace or ns == namespace)
                     and labels(o) and fields(o)]
            return {"kind": res.kind + "List", "apiVersion": res.group_version,
                    "metadata": {"resourceVersion": str(self.rv)}, "items": items}

    def events_since(self, res, rv, namespace=None, label_selector=None, field_selector=None):
        labels, fields = label_matcher(label_selector), field_matcher(field_selector)
        return [(v, t, copy.deepcopy(o)) for v, g, p, t, o in self.history
                if v > rv and g == res.group and p == res.plural
                and (not namespace or o["metadata"].get("namespace") == namespace) and labels(o) and fields(o)]

    def create(self, res, namespace, body, manager="unknown", dry_run=False, validation="Warn"):
        with self.lock:
            obj = copy.deepcopy(body)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            name = meta.get("name")
            if not name:
                raise K8sError(422, "Invalid", "%s \"\" is invalid: metadata.name: Required value: name or "
                               "generateName is required" % res.kind, {"kind": res.kind})
            if not NAME_RE.match(name) or len(name) > 253:
                raise K8sError(422, "Invalid", "%s \"%s\" is invalid: metadata.name: Invalid value: \"%s\": a "
                               "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                               "'-' or '.', and must start and end with an alphanumeric character"
                               % (res.kind, name, name), {"name": name, "kind": res.kind})
            if res.namespaced:
                meta["namespace"] = namespace or meta.get("namespace") or "default"
                if namespace and body.get("metadata", {}).get("namespace") not in (None, namespace):
                    raise K8sError(400, "BadRequest", "the namespace of the provided object does not match the "
                                   "namespace sent on the request")
            else:
                meta.pop("namespace", None)
            self._check_namespace(res, meta.get("namespace"), creating=True)
            key = (res.group, res.plural, meta.get("namespace", ""), name)
            if key in self.objects:
                raise K8sError(409, "AlreadyExists", "%s \"%s\" already exists" % (resource_label(res), name),
                               {"name": name, "group": res.group, "kind": res.plural})
            obj["apiVersion"], obj["kind"] = res.group_version, res.kind
            warnings = self._validate(res, obj, validation)
            if res.status and res.plural not in ("namespaces",):
                obj.pop("status", None)
            if res.plural == "namespaces":
                obj.setdefault("spec", {"finalizers": ["kubernetes"]})
                obj["status"] = {"phase": "Active"}
            for check in self.admission:
                check("CREATE", res, obj, None)
            for server_field in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "managedFields"):
                meta.pop(server_field, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_iso()
            meta["generation"] = 1
            owners = k8s_patch.record_update(None, obj, manager, {})
            result = self._finish(res, key, None, obj, owners, dry_run, "ADDED")
            if res.plural == "customresourcedefinitions" and not dry_run:
                self.pending_crds[name] = self.clock() + self.crd_delay
                if self.crd_delay <= 0:
                    self.tick()
                    result = self.objects.get(key, result)
            return copy.deepcopy(result), warnings

    def _write(self, res, namespace, name, new_body, before, owners, dry_run, validation, status_only):
        obj = copy.deepcopy(new_body)
        obj["apiVersion"], obj["kind"] = res.group_version, res.kind
        meta = obj.setdefault("metadata", {})
        meta["name"] = name
        if res.namespaced:
            meta["namespace"] = namespace
        if status_only:
            merged = copy.deepcopy(before)
            merged["status"] = obj.get("status")
            obj = merged
        elif res.status:
            if before is not None and "status" in before:
                obj["status"] = copy.deepcopy(before["status"])
            else:
                obj.pop("status", None)
        warnings = self._validate(res, obj, validation)
        for check in self.admission:
            check("UPDATE", res, obj, before)
        key = (res.group, res.plural, namespace if res.namespaced else "", name)
        return copy.deepcopy(self._finish(res, key, before, obj, owners, dry_run, "MODIFIED")), warnings

    def replace(self, res, namespace, name, body, manager="unknown", dry_run=False, validation="Warn",
                status_only=False):
        with self.lock:
            before = self.get(res, namespace, name)
            sent_rv = (body.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != before["metadata"]["resourceVersion"]:
                raise K8sError(409, "Conflict", "Operation cannot be fulfilled on %s \"%s\": the object has been "
                               "modified; please apply your changes to the latest version and try again"
                               % (resource_label(res), name), {"name": name, "group": res.group,
                                                               "kind": res.plural})
            key = (res.group, res.plural, namespace if res.namespaced else "", name)
            owners = k8s_patch.record_update(before, body, manager, self.owners.get(key, {}))
            return self._write(res, namespace, name, body, before, owners, dry_run, validation, status_only)

    def patch(self, res, namespace, name, patch_type, patch, manager=None, force=False, dry_run=False,
              validation="Warn", status_only=False):
        with self.lock:
            key = (res.group, res.plural, namespace if res.namespaced else "", name)
            before = self.objects.get(key)
            if patch_type == "apply":
                if not manager:
                    raise K8sError(400, "BadRequest", "PATCH %s: fieldManager is required for apply patch"
                                   % name)
                if before is None:
                    self._check_namespace(res, namespace, creating=True)
                    try:
                        live, owners = k8s_patch.server_side_apply(None, patch, manager, {}, force)
                    except k8s_patch.Conflict as exc:
                        raise K8sError(409, "Conflict", exc.message(res.group_version)) from exc
                    live.setdefault("metadata", {})["name"] = name
                    created, warnings = self.create(res, namespace, live, manager, dry_run, validation)
                    if not dry_run:
                        self.owners[key] = owners
                        created["metadata"]["managedFields"] = k8s_patch.managed_fields(
                            owners, res.group_version, now_iso())
                        self.objects[key]["metadata"]["managedFields"] = created["metadata"]["managedFields"]
                    return created, warnings
                before = copy.deepcopy(before)
                try:
                    live, owners = k8s_patch.server_side_apply(before, patch, manager, self.owners.get(key, {}),
                                                               force)
                except k8s_patch.Conflict as exc:
                    details = {"name": name, "group": res.group, "kind": res.plural}
                    raise K8sError(409, "Conflict", exc.message(res.group_version), details) from exc
                return self._write(res, namespace, name, live, before, owners, dry_run, validation, status_only)
            if before is None:
                raise not_found(res, name)
            before = copy.deepcopy(before)
            try:
                if patch_type == "merge":
                    after = k8s_patch.merge_patch(before, patch)
                elif patch_type == "strategic":
                    if res.schema is not None:
                        raise K8sError(415, "UnsupportedMediaType", "strategic merge patch is not supported for "
                                       "custom resources")
                    after = k8s_patch.strategic_merge_patch(before, patch)
                elif patch_type == "json":
                    after = k8s_patch.json_patch(before, patch)
                else:
                    raise K8sError(415, "UnsupportedMediaType", "the body of the request was in an unknown format")
            except k8s_patch.PatchError as exc:
                raise K8sError(422, "Invalid", str(exc)) from exc
            owners = k8s_patch.record_update(before, after, manager or "unknown", self.owners.get(key, {}))
            return self._write(res, namespace, name, after, before, owners, dry_run, validation, status_only)

    def delete(self, res, namespace, name, dry_run=False):
        with self.lock:
            before = self.get(res, namespace, name)
            if not before["metadata"].get("deletionTimestamp"):  # a deletion passes admission, dry run or not
                for check in self.admission:
                    check("DELETE", res, before, before)
            if dry_run:
                return before
            meta = before["metadata"]
            key = (res.group, res.plural, namespace if res.namespaced else "", name)
            if res.plural == "namespaces":
                return self._delete_namespace(res, before)
            if meta.get("finalizers"):
                if not meta.get("deletionTimestamp"):
                    meta["deletionTimestamp"] = now_iso()
                    meta["deletionGracePeriodSeconds"] = 0
                    self._put(res, before, "MODIFIED")
                return copy.deepcopy(self.objects[key])
            self._put(res, before, "DELETED")
            self._after_delete(res, before)
            return before

    def _after_delete(self, res, obj):
        if res.plural == "customresourcedefinitions":
            spec = obj["spec"]
            crd_res = next((r for (g, _unused, p), r in self.resources.items()
                            if g == spec["group"] and p == spec["names"]["plural"]), None)
            for key in [k for k in self.objects if k[0] == spec["group"] and k[1] == spec["names"]["plural"]]:
                self._put(crd_res, self.objects[key], "DELETED")
            self._unregister_crd(obj)
            for key, other in list(self.objects.items()):  # a CRD that lost a name to this one may take it now
                if key[:2] == ("apiextensions.k8s.io", "customresourcedefinitions") and any(
                        c.get("type") == "NamesAccepted" and c.get("status") == "False"
                        for c in (other.get("status") or {}).get("conditions") or []):
                    self._establish(other)
        if res.plural == "namespaces":
            return
        ns = obj["metadata"].get("namespace")
        if ns:
            owner = self.objects.get(("", "namespaces", "", ns))
            if owner and owner["metadata"].get("deletionTimestamp"):
                self._finish_namespace(owner)

    def _delete_namespace(self, res, ns):
        name = ns["metadata"]["name"]
        if not ns["metadata"].get("deletionTimestamp"):
            ns["metadata"]["deletionTimestamp"] = now_iso()
            ns["status"] = {"phase": "Terminating"}
            self._put(res, ns, "MODIFIED")
        for key in [k for k in self.objects if k[2] == name]:
            obj_res = next((r for (g, _unused, p), r in self.resources.items() if g == key[0] and p == key[1]), None)
            if obj_res is not None and key in self.objects:
                try:
                    self.delete(obj_res, name, key[3])
                except K8sError:  # a webhook refused it: the namespace stays Terminating, as on a real cluster
                    continue
        current = self.objects.get(("", "namespaces", "", name))
        if current is not None:  # deleting its last object may already have finished it
            self._finish_namespace(current)
        return copy.deepcopy(self.objects.get(("", "namespaces", "", name), ns))

    def _finish_namespace(self, ns):
        name = ns["metadata"]["name"]
        if any(k[2] == name for k in self.objects if k[1] != "namespaces"):
            return
        self._put(self.resources[("", "v1", "namespaces")], copy.deepcopy(ns), "DELETED")
