# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every twin shares: the request log, the knobs, and Google-style errors."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MUTATING_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
FAULT_KINDS = ("429", "500", "503", "reset", "slow", "lost")
# "lost": the request is carried out, then the connection drops before the answer (a proxy's timeout after the
# backend committed); the client cannot tell it from "reset" and retries. Only the GCS twin implements it.
LOST_ANSWER_SERVICES = ("gcs",)

# google.rpc.Code names for the HTTP statuses the twins answer with.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


# Read-only calls that are sent as POST: Google's custom methods, inference (TF Serving's
# :predict, the Open Inference Protocol's /infer), and kube-apiserver's token and access reviews,
# which change nothing.
READ_VERBS = (":getIamPolicy", ":testIamPermissions", ":predict", "/infer", "/tokenreviews", "/subjectaccessreviews")


def is_mutating(method, path):
    return method in MUTATING_METHODS and not path.endswith(READ_VERBS)


class RequestLog:
    """Appends one JSON object a line for every request any twin answers."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()

    def record(self, service, method, path, status, **extra):
        entry = {"time": round(time.time(), 6), "service": service, "method": method, "path": path,
                 "status": status, "mutating": is_mutating(method, path) and not extra.get("dryRun")}
        entry.update(extra)
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)


class Knobs:
    """Simulated latencies, fault injection per service, and the random seed.

    latency_scale multiplies every simulated duration (operations, readiness):
    0.02 (the default) makes a 60 s GKE operation take 1.2 s.
    faults: {service: {"rate": 0.0-1.0, "kinds": ["503", "reset", ...]}}.
    """

    def __init__(self, latency_scale=0.02, faults=None, seed=0, slow_seconds=2.0):
        self.latency_scale = float(latency_scale)
        self.faults = faults or {}
        self.slow_seconds = float(slow_seconds)
        self.seed = seed
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        for service, spec in self.faults.items():
            for kind in spec.get("kinds", ()):
                if kind not in FAULT_KINDS:
                    raise ValueError("fault kind %r for %s is not one of %s" % (kind, service, ", ".join(FAULT_KINDS)))
                if kind == "lost" and service not in LOST_ANSWER_SERVICES:
                    raise ValueError("fault kind lost is implemented for %s only, not %s"
                                     % (", ".join(LOST_ANSWER_SERVICES), service))

    def duration(self, seconds):
        return seconds * self.latency_scale

    def pick_fault(self, service):
        """Return the fault kind to inject into this request, or None."""
        spec = self.faults.get(service)
        if not spec or not spec.get("kinds"):
            return None
        with self._lock:
            if self._random.random() >= float(spec.get("rate", 0)):
                return None
            return self._random.choice(list(spec["kinds"]))

    def as_dict(self):
        return {"latency_scale": self.latency_scale, "faults": self.faults, "seed": self.seed,
                "slow_seconds": self.slow_seconds}


class ApiError(Exception):
    """An error the twin answers with, in Google's JSON error format."""

    def __init__(self, code, message, status=None, reason=None, details=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.reason = reason
        self.details = details

    def body(self):
        error = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason:
            error["errors"] = [{"message": self.message, "domain": "global", "reason": self.reason}]
        if self.details:
            error["details"] = self.details
        return {"error": error}


def start_request(handler, method, path):
    """Mark the server busy and draw this request's injected fault, if any.

    'reset' drops the connection here (and is logged); 'slow' sleeps here. The
    caller answers 429/500/503 in its own API's error format, and returns at
    once on 'reset'.
    """
    server = handler.server
    server.last_request = time.monotonic()
    fault = server.knobs.pick_fault(server.service)
    if fault == "reset":
        server.log.record(server.service, method, path, 0, fault="reset")
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)
    elif fault == "slow":
        time.sleep(server.knobs.slow_seconds)
    return fault


def write_json(handler, status, payload, content_type="application/json; charset=UTF-8"):
    """Answer a request with a JSON body (every twin's handlers write their answers through this)."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class LabServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, service, log, knobs, auth_token=None):
        host = address[0]
        if not host.startswith("127."):
            raise ValueError("the lab binds to 127.0.0.0/8 only, not %s" % host)
        super().__init__(address, handler)
        self.service = service
        self.log = log
        self.knobs = knobs
        self.auth_token = auth_token
        self.last_request = time.monotonic()

    @property
    def url(self):
        return "http://%s:%d" % self.server_address[:2]


class JsonHandler(BaseHTTPRequestHandler):
    """Routes requests to handle(method, path, query, body) and logs each one."""

    protocol_version = "HTTP/1.1"
    server_version = "kserve-lab"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """The request log replaces the default stderr lines."""

    def _dispatch(self, method):
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fault = start_request(self, method, parts.path)
        if fault == "reset":
            return
        try:
            if fault in ("429", "500", "503"):
                raise ApiError(int(fault), {429: "Quota exceeded for quota metric 'Requests' (injected fault).",
                                            500: "Internal error encountered (injected fault).",
                                            503: "The service is currently unavailable (injected fault)."}[int(fault)])
            self.check_auth()
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise ApiError(400, "Invalid JSON payload received. %s" % exc)
            status, payload = self.handle_api(method, parts.path, query, body)
        except ApiError as exc:
            status, payload = exc.code, exc.body()
        self.server.log.record(self.server.service, method, parts.path, status,
                               **({"fault": fault} if fault else {}))
        self.send_json(status, payload)

    def check_auth(self):
        token = self.server.auth_token
        if token is None:
            return
        header = self.headers.get("Authorization", "")
        if header != "Bearer %s" % token:
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                                "token, login cookie or other valid authentication credential.")

    def send_json(self, status, payload):
        write_json(self, status, payload)

    def handle_api(self, method, path, query, body):
        raise NotImplementedError

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self):  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self):  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")
