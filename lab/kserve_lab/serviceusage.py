# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service Usage twin (serviceusage.googleapis.com/v1): services get, list,
enable, batchEnable. Other twins ask it whether their API is enabled and
refuse with 403 SERVICE_DISABLED when it is not, as Google's APIs do."""

from __future__ import annotations

import json
import os
import re
import threading
import zlib

from .core import ApiError, JsonHandler

# A new project has a few APIs on; the rest must be enabled.
DEFAULT_ENABLED = ("storage.googleapis.com", "storage-api.googleapis.com", "storage-component.googleapis.com")
TITLES = {"container.googleapis.com": "Kubernetes Engine API", "compute.googleapis.com": "Compute Engine API",
          "iam.googleapis.com": "Identity and Access Management (IAM) API",
          "iamcredentials.googleapis.com": "IAM Service Account Credentials API"}
PATH_RE = re.compile(r"^/v1/projects/(?P<project>[^/]+)/services(?:/(?P<service>[^/:]+))?(?::(?P<verb>\w+))?$")


def project_number(project):
    return str(100000000000 + zlib.crc32(project.encode()) % 900000000000)


class ServiceUsageState:
    """Which APIs each project has on; kept in state_path across a restart, as a real project keeps them."""

    def __init__(self, enabled=None, state_path=None):
        self.lock = threading.Lock()
        self.enabled = {}  # project -> set of services
        self.default = set(DEFAULT_ENABLED if enabled is None else enabled)
        self.state_path = state_path
        if state_path and os.path.exists(state_path):
            with open(state_path, encoding="utf-8") as handle:
                self.enabled = {project: set(names) for project, names in json.load(handle).items()}

    def _save(self):
        if self.state_path:
            with open(self.state_path + ".tmp", "w", encoding="utf-8") as handle:
                json.dump({project: sorted(names) for project, names in self.enabled.items()}, handle)
            os.replace(self.state_path + ".tmp", self.state_path)

    def is_enabled(self, project, service):
        with self.lock:
            return service in self.enabled.setdefault(project, set(self.default))

    def require(self, project, service):
        """Raise the error Google's APIs give when their service is disabled."""
        if self.is_enabled(project, service):
            return
        title = TITLES.get(service, service)
        message = ("%s has not been used in project %s before or it is disabled. Enable it by visiting "
                   "https://console.developers.google.com/apis/api/%s/overview?project=%s then retry. If you "
                   "enabled this API recently, wait a few minutes for the action to propagate to our systems "
                   "and retry." % (title, project_number(project), service, project_number(project)))
        raise ApiError(403, message, reason="accessNotConfigured", details=[{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
            "domain": "googleapis.com",
            "metadata": {"service": service, "consumer": "projects/%s" % project_number(project)}}])

    def _service(self, project, service):
        number = project_number(project)
        return {"name": "projects/%s/services/%s" % (number, service), "parent": "projects/%s" % number,
                "config": {"name": service, "title": TITLES.get(service, service)},
                "state": "ENABLED" if self.is_enabled(project, service) else "DISABLED"}

    def route(self, method, path, body):
        match = PATH_RE.match(path)
        if not match:
            raise ApiError(404, "The requested URL %s was not found on this server." % path)
        project, service, verb = match.group("project"), match.group("service"), match.group("verb")
        if method == "GET" and service and not verb:
            return 200, self._service(project, service)
        if method == "GET" and not service:
            self.is_enabled(project, "")
            with self.lock:
                names = sorted(self.enabled[project])
            return 200, {"services": [self._service(project, s) for s in names]}
        if method == "POST" and verb in ("enable", "disable", "batchEnable"):
            names = [service] if verb != "batchEnable" else list((body or {}).get("serviceIds") or [])
            if not names or not all(names):
                raise ApiError(400, "Request contains an invalid argument.")
            self.is_enabled(project, "")
            with self.lock:
                for name in names:
                    (self.enabled[project].add if verb != "disable" else self.enabled[project].discard)(name)
                self._save()
            response = {"@type": "type.googleapis.com/google.api.serviceusage.v1.%s" %
                        ("BatchEnableServicesResponse" if verb == "batchEnable" else
                         "EnableServiceResponse" if verb == "enable" else "DisableServiceResponse")}
            if verb == "batchEnable":
                response["services"] = [self._service(project, n) for n in names]
            else:
                response["service"] = self._service(project, names[0])
            return 200, {"name": "operations/noop.DONE_OPERATION", "done": True, "response": response}
        if method == "GET" and path.startswith("/v1/operations/"):
            return 200, {"name": path[4:], "done": True}
        raise ApiError(404, "The requested URL %s was not found on this server." % path)


class ServiceUsageHandler(JsonHandler):
    state = None

    def handle_api(self, method, path, query, body):
        if path.startswith("/v1/operations/") and method == "GET":
            return 200, {"name": path[len("/v1/"):], "done": True}
        return self.state.route(method, path, body)
