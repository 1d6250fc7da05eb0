# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One small session for every Google Cloud REST call the collection makes.

google-auth's AuthorizedSession does the credentials (refresh included);
urllib3's Retry, mounted on it, rides out 429, 5xx and dropped connections
with exponential backoff and honours Retry-After. What is left here is the
choice of credentials, the endpoint override per API (so the same code runs
against the local lab), and turning Google's JSON errors into messages that
say what to do.
"""

from __future__ import annotations

import json

try:
    import google.auth
    import google.auth.transport.requests
    import google.oauth2.credentials
    import google.oauth2.service_account
    import requests
    from google.auth.exceptions import GoogleAuthError
    from google.auth.transport.requests import AuthorizedSession
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
    HAS_GOOGLE_AUTH = True
    IMPORT_ERROR = None
except ImportError as exc:  # reported by the module through missing_required_lib
    HAS_GOOGLE_AUTH = False
    IMPORT_ERROR = exc

import os

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
API_HOSTS = {
    "compute": "https://compute.googleapis.com/",
    "container": "https://container.googleapis.com/",
    "iam": "https://iam.googleapis.com/",
    "serviceusage": "https://serviceusage.googleapis.com/",
    "storage": "https://storage.googleapis.com/",
}
ENDPOINT_ENV = "KSERVE_GKE_%s_ENDPOINT"
RETRY_STATUSES = (429, 500, 502, 503, 504)
AUTH_KINDS = ("application", "serviceaccount", "accesstoken")


def gcp_argument_spec():
    """The options every GCP module shares (documented in the gcp doc fragment)."""
    return dict(
        project=dict(type="str", fallback=(env_fallback, ["GCP_PROJECT", "GOOGLE_CLOUD_PROJECT"])),
        auth_kind=dict(type="str", choices=list(AUTH_KINDS), default="application",
                       fallback=(env_fallback, ["GCP_AUTH_KIND"])),
        service_account_file=dict(type="path", fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_FILE"])),
        access_token=dict(type="str", no_log=True, fallback=(env_fallback, ["GCP_ACCESS_TOKEN"])),
        api_endpoints=dict(type="dict", default={}),
        request_timeout=dict(type="float", default=60.0),
        retries=dict(type="int", default=6),
        retry_backoff=dict(type="float", default=1.0),
    )


class GcpError(Exception):
    """A failed call, with a message a user can act on; `field` names the option at fault, when one is."""

    def __init__(self, message, status=None, reason=None, body=None, field=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.body = body or {}
        self.field = field


class Plan:
    """The writes a GCP module decides on, before it makes any: a real run makes them in order, check mode makes
    none, and both report the same `changed`, `actions` and `diff`, so the three cannot disagree.

    A module adds a step per write (a label for the user, the call that makes it, and what it changes in the
    `after` view), then calls apply(); a write that depends on an earlier one (a grant on a bucket being created)
    is added after that apply, and a second apply() makes only the new ones.
    """

    def __init__(self, check_mode, before=None):
        self.check_mode = check_mode
        self.before = dict(before or {})
        self.after = dict(self.before)
        self.steps = []
        self.applied = 0

    def add(self, label, call, **after):
        self.steps.append((label, call))
        self.after.update(after)

    @property
    def changed(self):
        return bool(self.steps)

    def apply(self):
        """Make the writes not made yet (none in check mode); return the last one's answer, or None."""
        answer = None
        for _label, call in self.steps[self.applied:]:
            if not self.check_mode:
                answer = call()
        self.applied = len(self.steps)
        return answer

    def result(self, **extra):
        return dict(extra, changed=self.changed, actions=[label for label, _call in self.steps],
                    diff=dict(before=self.before, after=self.after))


def run_module(argument_spec, run, libraries=None):
    """main() of every GCP module: build it, run run(params, check_mode, environ), turn a GcpError into a message
    naming the module's option at fault (field) and the HTTP status, and pass on the warnings it found.

    libraries: {name for missing_required_lib: (available, import error)} beyond google-auth."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    needed = dict({"google-auth and requests": (HAS_GOOGLE_AUTH, IMPORT_ERROR)}, **(libraries or {}))
    for name, (available, error) in needed.items():
        if not available:
            module.fail_json(msg=missing_required_lib(name), exception=str(error))
    try:
        result = run(module.params, module.check_mode, os.environ)
    except GcpError as exc:
        details = {key: value for key, value in (("status", exc.status), ("field", exc.field)) if value}
        module.fail_json(msg=exc.message, **details)
    for line in result.pop("warnings_found", []):
        module.warn(line)
    module.exit_json(**result)


def endpoint(api, overrides, environ):
    """Base URL of an API: the module option, then KSERVE_GKE_<API>_ENDPOINT, then Google's host."""
    base = (overrides or {}).get(api) or environ.get(ENDPOINT_ENV % api.upper()) or API_HOSTS[api]
    return base if base.endswith("/") else base + "/"


def error_reason(body):
    """(status name, reason) of a Google JSON error body, either may be None."""
    error = (body or {}).get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    reasons = [e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)]
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            reasons.insert(0, detail["reason"])
    return error.get("status"), (reasons[0] if reasons else None)


def explain(status, body, what):
    """The message for a failed call: Google's words plus what to do about them."""
    error = (body or {}).get("error") if isinstance(body, dict) else None
    text = error.get("message") if isinstance(error, dict) else None
    text = text or (json.dumps(body)[:300] if body else "no response body")
    name, reason = error_reason(body)
    message = "%s failed with HTTP %s: %s" % (what, status, text)
    lowered = text.lower()
    if reason == "SERVICE_DISABLED":
        return message + " Fix: enable the API in the project (gke_cluster_enable_apis does it) and re-run."
    if status == 401:
        return message + " Fix: check the credentials (auth_kind, service_account_file, access_token or ADC)."
    if status == 403 and "quota" in lowered:
        return message + (" Fix: ask for more quota for the resource named above in that region "
                          "(IAM & Admin > Quotas), or lower the GPU or node count, or use another region.")
    if "resource_pool_exhausted" in lowered or "does not have enough resources" in lowered:
        return message + " This is a stockout of that machine or GPU in the zone. Fix: try another zone or GPU type."
    if "service account" in lowered and "does not exist" in lowered:
        return message + (" Fix: create the service account first (the gcs_model role does with "
                          "gcs_model_create_predictor_service_account: true), or correct the member.")
    if status == 400 and "location constraint" in lowered:
        return message + (" Fix: set location to a GCS location: a region (us-central1), a multi-region (US, EU, "
                          "ASIA) or a dual-region (NAM4, EUR4, ASIA1).")
    if status == 412 and "public access prevention" in lowered:
        return message + " Fix: keep the bucket private, or lift public access prevention on purpose."
    if status == 403:
        return message + " Fix: grant the caller the IAM role this call needs in the project."
    if name == "FAILED_PRECONDITION" or reason == "failedPrecondition":
        return message + " Another operation is still running on the cluster; wait for it, then re-run."
    return message


def credentials(params, environ):
    """google-auth credentials for the module's auth options; (credentials, project)."""
    kind = params.get("auth_kind") or "application"
    if kind == "accesstoken":
        if not params.get("access_token"):
            raise GcpError("access_token is required with auth_kind=accesstoken. Fix: set access_token "
                           "(or GCP_ACCESS_TOKEN), or use auth_kind=application.")
        return google.oauth2.credentials.Credentials(params["access_token"]), params.get("project")
    if kind == "serviceaccount":
        path = params.get("service_account_file")
        if not path:
            raise GcpError("service_account_file is required with auth_kind=serviceaccount. Fix: set it "
                           "(or GCP_SERVICE_ACCOUNT_FILE) to a JSON key file.")
        try:
            creds = google.oauth2.service_account.Credentials.from_service_account_file(path, scopes=SCOPES)
        except (OSError, ValueError) as exc:
            raise GcpError("service_account_file %s could not be read as a service account key: %s. Fix: "
                           "point it at the JSON key downloaded for the service account." % (path, exc))
        return creds, params.get("project") or creds.project_id
    try:
        creds, project = google.auth.default(scopes=SCOPES)
    except GoogleAuthError as exc:
        raise GcpError("No application default credentials: %s Fix: run 'gcloud auth application-default "
                       "login', set GOOGLE_APPLICATION_CREDENTIALS, or choose another auth_kind." % exc)
    return creds, params.get("project") or project or environ.get("GOOGLE_CLOUD_PROJECT")


def access_token(session):
    """A current access token of the session's credentials (refreshed when needed). Never log it."""
    creds = session.credentials
    if not creds.valid:
        try:
            creds.refresh(google.auth.transport.requests.Request())
        except GoogleAuthError as exc:
            raise GcpError("Could not get an access token: %s. Fix: check the credentials." % exc)
    return creds.token


class GcpSession:
    """Authorized JSON calls to one Google API, with retries and readable errors."""

    def __init__(self, params, api, environ):
        if not HAS_GOOGLE_AUTH:
            raise GcpError("google-auth and requests are required: %s" % IMPORT_ERROR)
        creds, self.project = credentials(params, environ)
        self.base = endpoint(api, params.get("api_endpoints"), environ)
        self.timeout = params.get("request_timeout") or 60.0
        self.credentials = creds
        self.http = AuthorizedSession(creds)
        retry = Retry(total=params.get("retries", 6), status_forcelist=RETRY_STATUSES, allowed_methods=None,
                      backoff_factor=params.get("retry_backoff", 1.0), respect_retry_after_header=True,
                      raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
        self.http.mount("https://", adapter)
        self.http.mount("http://", adapter)
        self.mutating_calls = 0

    def url(self, path):
        return path if "://" in path else self.base + path.lstrip("/")

    def call(self, method, path, body=None, params=None, missing_ok=False, what=None):
        """Send one request; return the JSON answer ({} when empty), None for a 404 if missing_ok."""
        what = what or "%s %s" % (method, path.split("?")[0])
        if method != "GET" and not path.endswith((":getIamPolicy", ":testIamPermissions")):
            self.mutating_calls += 1
        try:
            response = self.http.request(method, self.url(path), json=body, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise GcpError("%s failed: %s. Fix: check the network path to %s." % (what, exc, self.base))
        if response.status_code == 404 and missing_ok:
            return None
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = {"error": {"message": response.text[:300]}}
        if response.status_code >= 400:
            name, reason = error_reason(data)
            raise GcpError(explain(response.status_code, data, what), status=response.status_code,
                           reason=reason or name, body=data)
        return data


def grant_pairs(grants):
    """(errors, pairs): the grants option as (role, member) tuples, and a line for each entry that is not one."""
    errors = ["grants: %r is not a [role, member] pair." % (g,) for g in grants if len(g) != 2]
    return errors, [tuple(g) for g in grants if len(g) == 2]


def iam_plan(policy, wanted):
    """The policy with every (role, member) in wanted bound, or None when nothing is missing.

    Bindings are only added: members granted by others are left alone.
    """
    bindings = [dict(b, members=list(b.get("members") or [])) for b in (policy or {}).get("bindings") or []]
    missing = []
    for role, member in wanted:
        binding = next((b for b in bindings if b.get("role") == role and not b.get("condition")), None)
        if binding is None:
            binding = {"role": role, "members": []}
            bindings.append(binding)
        if member not in binding["members"]:
            binding["members"].append(member)
            missing.append((role, member))
    if not missing:
        return None, []
    new = dict(policy or {})
    new["bindings"] = bindings
    return new, missing
