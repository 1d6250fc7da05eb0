# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes API twin over HTTPS: what kubectl and kubernetes.core use.

/version, legacy discovery (/api, /apis, /api/v1, /apis/<group>/<version>),
CRUD, list with selectors, watch (chunked JSON events), the status
subresource, patches (merge, JSON, strategic, apply), dryRun=All and
fieldValidation. Errors are metav1.Status objects.
"""

from __future__ import annotations

import json
import re
import ssl
import time
import urllib.parse

import yaml

from .core import JsonHandler, LabServer, start_request
from .k8s_store import K8sError

# Workloads with the scale subresource (autoscaling/v1 Scale), as kubectl scale uses it.
SCALABLE = ("deployments", "statefulsets")

PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": None,
}
ROUTE_RE = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
                      r"(?:/namespaces/(?P<ns>[^/]+)(?=/[^/]+))?(?:/(?P<rest>.*))?$")


def pod_log(store, pod, container):
    """A Pod's log: of the named container, or of its only one; the API server's 400 when a Pod with
    several containers (init containers count) is asked without a name."""
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    init = [c["name"] for c in spec.get("initContainers") or []]
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    if container is None and len(names) + len(init) > 1:
        raise K8sError(400, "BadRequest", "a container name must be specified for pod %s, choose one of: [%s]%s" % (
            name, " ".join(names), " or one of the init containers: [%s]" % " ".join(init) if init else ""))
    if container is not None and container not in names + init:
        raise K8sError(400, "BadRequest", "container %s is not valid for pod %s" % (container, name))
    return store.logs.get((ns, name, container or (names + init)[0]), store.logs.get((ns, name), ""))


def scale_of(obj):
    """The autoscaling/v1 Scale view of a Deployment or StatefulSet."""
    meta = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": int((obj.get("spec") or {}).get("replicas", 1))},
            "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0)),
                       "selector": ",".join("%s=%s" % kv for kv in sorted(selector.items()))}}


class K8sHandler(JsonHandler):
    """One cluster's API; `store` and `token` come from the server."""

    def check_auth(self):
        header = self.headers.get("Authorization", "")
        if header != "Bearer %s" % self.server.auth_token:
            raise K8sError(401, "Unauthorized", "Unauthorized")

    def _dispatch(self, method):
        parts = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fault = start_request(self, method, parts.path)
        if fault == "reset":
            return
        try:
            if fault in ("429", "500", "503"):
                raise K8sError(int(fault), {"429": "TooManyRequests", "500": "InternalError",
                                            "503": "ServiceUnavailable"}[fault], "injected fault")
            self.check_auth()
            self.server.store.tick()
            if method == "GET" and query.get("watch") in ("1", "true"):
                self.server.log.record(self.server.service, method, parts.path, 200, watch=True)
                self.watch(parts.path, query)
                return
            status, payload, warnings = self.route(method, parts.path, query, raw)
        except K8sError as exc:
            status, payload, warnings = exc.code, exc.status(), []
        self.server.log.record(self.server.service, method, parts.path, status,
                               **({"fault": fault} if fault else {}),
                               **({"dryRun": True} if query.get("dryRun") == "All" else {}))
        text = isinstance(payload, str)  # pod logs are plain text
        data = payload.encode() if text else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for warning in warnings:
            self.send_header("Warning", "299 - \"%s\"" % warning.replace('"', '\\"'))
        self.end_headers()
        self.wfile.write(data)

    # --- discovery --------------------------------------------------------
    def discovery(self, path):
        store = self.server.store
        if path == "/version":
            major, minor = store.version.lstrip("v").split(".")[:2]
            return {"major": major, "minor": minor, "gitVersion": store.version, "gitCommit": "lab",
                    "gitTreeState": "clean", "buildDate": "2026-10-01T00:00:00Z", "goVersion": "go1.24.6",
                    "compiler": "gc", "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "%s:%d" % self.server.server_address[:2]}]}
        if path == "/apis":
            groups = []
            for group, versions in store.group_versions().items():
                if not group:
                    continue
                entries = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions]
                groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        match = re.match(r"^/(?:api/(v1)|apis/([^/]+)/([^/]+))$", path)
        if match:
            group, version = (match.group(2) or ""), (match.group(1) or match.group(3))
            resources = store.resource_list(group, version)
            if not resources:
                raise K8sError(404, "NotFound", "the server could not find the requested resource")
            return {"kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": "%s/%s" % (group, version) if group else version, "resources": resources}
        match = re.match(r"^/apis/([^/]+)$", path)
        if match:
            versions = store.group_versions().get(match.group(1))
            if versions:
                entries = [{"groupVersion": "%s/%s" % (match.group(1), v), "version": v} for v in versions]
                return {"kind": "APIGroup", "apiVersion": "v1", "name": match.group(1), "versions": entries,
                        "preferredVersion": entries[0]}
        return None

    def openapi_v3(self, group_version_path):
        """The OpenAPI v3 index, or one group-version's document.

        Only what clients read to decide how to validate and patch: a PATCH
        operation per resource, tagged with its group/version/kind and declaring
        the fieldValidation parameter, so kubectl leaves validation to the
        server (which the twin does for custom resources, from their schemas).
        """
        store = self.server.store
        groups = store.group_versions()
        if not group_version_path:
            paths = {}
            for group, versions in groups.items():
                for version in versions:
                    key = "apis/%s/%s" % (group, version) if group else "api/%s" % version
                    paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%d" % (key, store.rv)}
            return {"paths": paths}
        match = re.match(r"^(?:api/(v1)|apis/([^/]+)/([^/]+))$", group_version_path)
        if not match:
            raise K8sError(404, "NotFound", "the server could not find the requested resource")
        group, version = (match.group(2) or ""), (match.group(1) or match.group(3))
        prefix = "/apis/%s/%s" % (group, version) if group else "/api/%s" % version
        paths, schemas = {}, {}
        for entry in store.resource_list(group, version):
            if "/" in entry["name"]:
                continue
            gvk = {"group": group, "version": version, "kind": entry["kind"]}
            scope = "/namespaces/{namespace}" if entry["namespaced"] else ""
            paths["%s%s/%s/{name}" % (prefix, scope, entry["name"])] = {"patch": {
                "x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch",
                "parameters": [{"name": name, "in": "query", "schema": {"type": "string"}}
                               for name in ("dryRun", "fieldManager", "fieldValidation", "force")],
                "responses": {"200": {"description": "OK"}}}}
            schemas["%s.%s.%s" % (group or "core", version, entry["kind"])] = {
                "type": "object", "x-kubernetes-group-version-kind": [gvk]}
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": store.version},
                "paths": paths, "components": {"schemas": schemas}}

    def locate(self, path):
        """Resolve a resource path to (resource, namespace, name, subresource)."""
        match = ROUTE_RE.match(path)
        if not match:
            raise K8sError(404, "NotFound", "the server could not find the requested resource")
        group = match.group("group") or ""
        version = match.group("core") or match.group("version")
        namespace = match.group("ns")
        rest = [p for p in (match.group("rest") or "").split("/") if p]
        if not rest:
            raise K8sError(404, "NotFound", "the server could not find the requested resource")
        if namespace is not None and rest[0] not in {r["name"] for r in self.server.store.resource_list(
                group, version)} and not group:
            # /api/v1/namespaces/<name>/status: the namespace object's own subresource
            rest = ["namespaces", namespace] + rest
            namespace = None
        res = self.server.store.find(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub not in (None, "status", "log", "scale") or (sub == "status" and not res.status) or (
                sub == "scale" and res.plural not in SCALABLE):
            raise K8sError(404, "NotFound", "the server could not find the requested resource")
        return res, namespace, name, sub

    def body_of(self, raw, content_type):
        if "protobuf" in content_type or "cbor" in content_type:
            raise K8sError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json, application/yaml")
        if not raw:
            raise K8sError(400, "BadRequest", "the body of the request was empty")
        try:
            return yaml.safe_load(raw) if "yaml" in content_type else json.loads(raw)
        except ValueError as exc:
            raise K8sError(400, "BadRequest", "the body of the request could not be decoded: %s" % exc) from exc

    def route(self, method, path, query, raw):
        store = self.server.store
        found = self.discovery(path.rstrip("/")) if method == "GET" else None
        if found is not None:
            return 200, found, []
        if path.startswith("/openapi/v3"):
            return 200, self.openapi_v3(path[len("/openapi/v3"):].strip("/")), []
        if path.startswith("/openapi/"):
            raise K8sError(404, "NotFound", "the server could not find the requested resource")
        res, namespace, name, sub = self.locate(path)
        dry_run = query.get("dryRun") == "All"
        if "dryRun" in query and not dry_run:
            raise K8sError(400, "BadRequest", "Invalid dryRun value: %s, valid values are: All" % query["dryRun"])
        validation = query.get("fieldValidation", "Warn")
        if validation not in ("Strict", "Warn", "Ignore"):
            raise K8sError(400, "BadRequest", "fieldValidation must be one of Strict, Warn, Ignore")
        manager = query.get("fieldManager") or self.headers.get("User-Agent", "unknown").split("/")[0]
        if res.namespaced and name is None and namespace is None and method not in ("GET",):
            raise K8sError(404, "NotFound", "the server could not find the requested resource")
        if method == "GET":
            if name is None:
                return 200, store.list(res, namespace, query.get("labelSelector"), query.get("fieldSelector")), []
            obj = store.get(res, namespace, name)
            if sub == "scale":
                return 200, scale_of(obj), []
            if sub == "log":
                return 200, pod_log(store, obj, query.get("container")), []
            return 200, obj, []
        if method == "POST" and name is None:
            body = self.body_of(raw, self.headers.get("Content-Type", ""))
            obj, warnings = store.create(res, namespace, body, manager, dry_run, validation)
            return 201, obj, warnings
        if sub == "scale" and method in ("PUT", "PATCH") and name:
            return 200, self.scale(res, namespace, name, method, raw, manager, dry_run), []
        if method == "PUT" and name:
            body = self.body_of(raw, self.headers.get("Content-Type", ""))
            obj, warnings = store.replace(res, namespace, name, body, manager, dry_run, validation,
                                          status_only=sub == "status")
            return 200, obj, warnings
        if method == "PATCH" and name:
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
            patch_type = PATCH_TYPES.get(content_type)
            if patch_type is None:
                raise K8sError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/apply-patch+yaml")
            body = self.body_of(raw, content_type)
            existed = self._exists(res, namespace, name)
            obj, warnings = store.patch(res, namespace, name, patch_type, body, query.get("fieldManager"),
                                        query.get("force") == "true", dry_run, validation,
                                        status_only=sub == "status")
            return (200 if existed or patch_type != "apply" else 201), obj, warnings
        if method == "DELETE" and name:
            return 200, store.delete(res, namespace, name, dry_run), []
        raise K8sError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def scale(self, res, namespace, name, method, raw, manager, dry_run):
        """PUT or PATCH on <workload>/scale: only spec.replicas may change, as on a real API server."""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        body = self.body_of(raw, content_type)
        if method == "PATCH" and PATCH_TYPES.get(content_type) == "json":
            values = [op.get("value") for op in body if op.get("path") == "/spec/replicas" and
                      op.get("op") in ("add", "replace")]
            replicas = values[-1] if values else None
        else:
            replicas = (body.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise K8sError(422, "Invalid", 'Scale.autoscaling "%s" is invalid: spec.replicas: Invalid value: %r: '
                           "must be greater than or equal to 0" % (name, replicas))
        obj = self.server.store.patch(res, namespace, name, "merge", {"spec": {"replicas": replicas}},
                                      manager, False, dry_run)[0]
        return scale_of(obj)

    def _exists(self, res, namespace, name):
        try:
            self.server.store.get(res, namespace, name)
            return True
        except K8sError:
            return False

    # --- watch ------------------------------------------------------------
    def watch(self, path, query):
        store = self.server.store
        res, namespace, name, _sub = self.locate(path)
        field_selector = query.get("fieldSelector")
        if name:
            field_selector = ",".join(filter(None, [field_selector, "metadata.name=%s" % name]))
        timeout = min(float(query.get("timeoutSeconds") or 1800), 1800)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + timeout
        with store.lock:
            if query.get("resourceVersion") not in (None, "", "0"):
                since = int(query["resourceVersion"])
                pending = store.events_since(res, since, namespace, query.get("labelSelector"), field_selector)
            else:
                listing = store.list(res, namespace, query.get("labelSelector"), field_selector)
                since = int(listing["metadata"]["resourceVersion"])
                pending = [(since, "ADDED", item) for item in listing["items"]]
        try:
            while True:
                for version, kind, obj in pending:
                    since = max(since, version)
                    self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.server.stopping:
                    break
                with store.lock:
                    store.changed.wait(min(remaining, 0.5))
                    store.tick()
                    pending = store.events_since(res, since, namespace, query.get("labelSelector"), field_selector)
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class K8sServer(LabServer):
    """One cluster's API server, over TLS with the cluster's own certificate."""

    stopping = False

    def __init__(self, address, store, log, knobs, token, certfile, keyfile, service="k8s"):
        handler = type("BoundK8s", (K8sHandler,), {})
        super().__init__(address, handler, service, log, knobs, auth_token=token)
        self.store = store
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self.socket = context.wrap_socket(self.socket, server_side=True)

    @property
    def url(self):
        return "https://%s:%d" % self.server_address[:2]

    def shutdown(self):
        self.stopping = True
        with self.store.lock:
            self.store.changed.notify_all()
        super().shutdown()
