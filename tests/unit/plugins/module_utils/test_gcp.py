# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils import gcp

TOKEN = {"auth_kind": "accesstoken", "access_token": "t0ken", "project": "p", "retries": 3, "retry_backoff": 0.01,
         "request_timeout": 5, "api_endpoints": {}}


@pytest.mark.parametrize("overrides, environ, expected", [
    ({}, {}, "https://container.googleapis.com/"),
    ({}, {"KSERVE_GKE_CONTAINER_ENDPOINT": "http://127.0.0.1:9"}, "http://127.0.0.1:9/"),
    ({"container": "http://127.0.0.1:8/"}, {"KSERVE_GKE_CONTAINER_ENDPOINT": "http://127.0.0.1:9"},
     "http://127.0.0.1:8/"),
    ({"storage": "http://127.0.0.1:8"}, {}, "https://container.googleapis.com/"),
])
def test_endpoint_prefers_the_option_then_the_environment(overrides, environ, expected):
    assert gcp.endpoint("container", overrides, environ) == expected


def _error(status, message, reason=None, details=None):
    error = {"code": status, "message": message}
    if reason:
        error["errors"] = [{"reason": reason}]
    if details:
        error["details"] = details
    return {"error": error}


@pytest.mark.parametrize("status, body, words", [
    (403, _error(403, "Insufficient regional quota to satisfy request: resource \"NVIDIA_T4_GPUS\""),
     "ask for more quota"),
    (403, _error(403, "API disabled", details=[{"reason": "SERVICE_DISABLED"}]), "enable the API"),
    (400, _error(400, "The zone does not have enough resources available to fulfill the request."), "stockout"),
    (401, _error(401, "Request had invalid authentication credentials."), "check the credentials"),
    (403, _error(403, "Permission denied on resource project p."), "grant the caller"),
    (400, {"error": {"code": 400, "message": "busy", "status": "FAILED_PRECONDITION"}}, "Another operation"),
])
def test_explain_says_what_to_do(status, body, words):
    message = gcp.explain(status, body, "Creating cluster c")
    assert message.startswith("Creating cluster c failed with HTTP %d" % status)
    assert words in message


def test_error_reason_prefers_error_info_details():
    body = _error(403, "x", reason="forbidden", details=[{"reason": "SERVICE_DISABLED"}])
    assert gcp.error_reason(body) == (None, "SERVICE_DISABLED")
    assert gcp.error_reason({"nope": 1}) == (None, None)


@pytest.mark.parametrize("params, words", [
    ({"auth_kind": "accesstoken"}, "access_token is required"),
    ({"auth_kind": "serviceaccount"}, "service_account_file is required"),
    ({"auth_kind": "serviceaccount", "service_account_file": "/nonexistent/key.json"}, "could not be read"),
])
def test_credentials_errors_name_the_option(params, words):
    with pytest.raises(gcp.GcpError, match=words):
        gcp.credentials(params, {})


class Flaky(BaseHTTPRequestHandler):
    """Answers 503 to the first `failures` requests, then echoes the request."""

    failures = 0
    seen = []

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Flaky.seen.append((self.command, self.path, self.headers.get("Authorization")))
        if len(Flaky.seen) <= Flaky.failures:
            status, payload = 503, _error(503, "try later")
        elif self.path.startswith("/missing"):
            status, payload = 404, _error(404, "not found")
        elif self.path.startswith("/quota"):
            status, payload = 403, _error(403, "Quota exceeded for GPUS_ALL_REGIONS")
        else:
            status, payload = 200, {"path": self.path, "body": json.loads(body or b"null")}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer


@pytest.fixture
def server():
    Flaky.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def session(server):
    return gcp.GcpSession(dict(TOKEN, api_endpoints={"container": server}), "container", {})


def test_session_retries_503_then_succeeds_with_the_token(server):
    Flaky.failures = 2
    answer = session(server).call("POST", "v1/things", body={"a": 1})
    assert answer == {"path": "/v1/things", "body": {"a": 1}}
    assert len(Flaky.seen) == 3
    assert all(auth == "Bearer t0ken" for _m, _p, auth in Flaky.seen)


def test_session_gives_up_after_the_retries(server):
    Flaky.failures = 100
    with pytest.raises(gcp.GcpError, match="HTTP 503: try later") as err:
        session(server).call("GET", "v1/things")
    assert err.value.status == 503 and len(Flaky.seen) == 4


def test_session_missing_ok_and_readable_errors(server):
    Flaky.failures = 0
    s = session(server)
    assert s.call("GET", "missing/x", missing_ok=True) is None
    with pytest.raises(gcp.GcpError, match="Creating c failed with HTTP 403: Quota .* ask for more quota"):
        s.call("POST", "quota", body={}, what="Creating c")
    assert s.mutating_calls == 1


def test_session_reports_an_unreachable_endpoint():
    s = gcp.GcpSession(dict(TOKEN, retries=0, api_endpoints={"container": "http://127.0.0.1:1"}), "container", {})
    with pytest.raises(gcp.GcpError, match="check the network path"):
        s.call("GET", "v1/x")


def test_grant_pairs_keeps_pairs_and_names_the_rest():
    errors, pairs = gcp.grant_pairs([["roles/a", "user:x"], ["roles/b"], ("roles/c", "user:y")])
    assert pairs == [("roles/a", "user:x"), ("roles/c", "user:y")]
    assert errors == ["grants: ['roles/b'] is not a [role, member] pair."]


def test_plan_makes_its_writes_in_order_and_none_in_check_mode():
    made = []
    for check_mode in (False, True):
        made.clear()
        plan = gcp.Plan(check_mode, {"labels": {}})
        assert plan.changed is False and plan.apply() is None
        plan.add("create it", lambda: made.append("create") or {"name": "x"}, exists=True)
        assert plan.apply() == (None if check_mode else {"name": "x"})
        plan.add("grant on it", lambda: made.append("grant"), grants=["r"])
        plan.apply()
        assert made == ([] if check_mode else ["create", "grant"])
        assert plan.result(email="e") == {
            "email": "e", "changed": True, "actions": ["create it", "grant on it"],
            "diff": {"before": {"labels": {}}, "after": {"labels": {}, "exists": True, "grants": ["r"]}}}


def test_a_plan_without_steps_is_unchanged():
    assert gcp.Plan(False, {"a": 1}).result() == {"changed": False, "actions": [],
                                                  "diff": {"before": {"a": 1}, "after": {"a": 1}}}
