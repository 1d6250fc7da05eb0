# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM twin (iam.googleapis.com/v1): what Workload Identity needs.

Service accounts create/get/list/delete, and their IAM policy
(getIamPolicy/setIamPolicy with etags); and IAM Service Account Credentials'
generateAccessToken (iamcredentials.googleapis.com/v1, on the same server): a
short-lived access token of a service account, for a caller its policy grants
roles/iam.serviceAccountTokenCreator (a project owner does not hold it by
default), else 403 IAM_PERMISSION_DENIED in Google's words (the same for an
account that does not exist). As on Google Cloud: the API must be
enabled; account IDs are checked; a Workload Identity member
(serviceAccount:PROJECT.svc.id.goog[ns/ksa]) is refused while no cluster of
the project has that workload pool; a stale etag is refused with 409 ABORTED.
Other twins ask it whether a service account exists (GCS refuses bindings to
ones that do not), and whose an access token is (the clusters' kube-apiservers,
through gke_auth.py's webhooks): the lab's token is LAB_ACCOUNT, which owns the
lab's project.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import threading
import time
import zlib

from .core import ApiError, JsonHandler
from .pki import write_private

ACCOUNT_ID_RE = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")
PATH_RE = re.compile(r"^/v1/projects/(?P<project>[^/]+)/serviceAccounts(?:/(?P<account>[^/:]+))?"
                     r"(?::(?P<verb>\w+))?$")
WI_MEMBER_RE = re.compile(r"^serviceAccount:(?P<pool>[a-z0-9-]+\.svc\.id\.goog)\[[^/\]]+/[^\]]+\]$")
MEMBER_RE = re.compile(r"^(user|serviceAccount|group|domain|principal|principalSet):.+$")
TOKEN_RE = re.compile(r"^/v1/projects/-/serviceAccounts/(?P<email>[^/:]+):generateAccessToken$")
TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator"
MAX_LIFETIME = 3600  # seconds, without the organization policy that allows 12 hours
LAB_ACCOUNT = "admin@kserve-lab.example.com"  # the Google account the lab's access token belongs to


def _etag_bytes(etag):
    """Etags are bytes fields: clients send them in standard or URL-safe base64."""
    text = etag.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


class IamState:
    def __init__(self, services=None, workload_pools=None, state_path=None, token_accounts=None):
        self.lock = threading.Lock()
        self.token_accounts = dict(token_accounts or {})  # access token -> Google account
        self.project_owners = set(self.token_accounts.values())
        self.token_expiry = {}  # generated token -> time.time() it expires (the lab's own token never does)
        self.accounts = {}  # email -> account
        self.policies = {}  # email -> policy
        self.services = services
        self.workload_pools = workload_pools or (lambda project: set())
        self.state_path = state_path
        if state_path and os.path.exists(state_path):
            with open(state_path, encoding="utf-8") as handle:
                saved = json.load(handle)
            self.accounts, self.policies = saved["accounts"], saved["policies"]
            for token, (email, expires) in saved.get("tokens", {}).items():  # Google's outlive a lab restart too
                self.token_accounts[token], self.token_expiry[token] = email, expires

    def _save(self):
        if self.state_path:
            now = time.time()
            tokens = {token: [self.token_accounts[token], expires] for token, expires in self.token_expiry.items()
                      if expires > now}
            # 0600: it holds the service accounts' access tokens
            write_private(self.state_path, json.dumps({"accounts": self.accounts, "policies": self.policies,
                                                       "tokens": tokens}))

    def exists(self, email):
        with self.lock:
            return email in self.accounts

    @staticmethod
    def _etag(policy):
        digest = hashlib.sha1(repr(sorted((b["role"], tuple(sorted(b["members"])))
                                          for b in policy.get("bindings") or [])).encode()).digest()
        return base64.b64encode(digest[:8]).decode()

    def _account(self, project, ref):
        email = ref if "@" in ref else None
        found = self.accounts.get(email) if email else next(
            (a for a in self.accounts.values() if a["uniqueId"] == ref), None)
        if not found or found["projectId"] != project and project != "-":
            raise ApiError(404, "Unknown service account", reason="notFound")
        return found

    def create(self, project, body):
        account_id = (body or {}).get("accountId") or ""
        if not ACCOUNT_ID_RE.match(account_id):
            raise ApiError(400, "Invalid account ID '%s'. The account ID must be between 6 and 30 characters, "
                                "start with a lowercase letter, and contain only lowercase letters, digits and "
                                "hyphens." % account_id, reason="badRequest")
        email = "%s@%s.iam.gserviceaccount.com" % (account_id, project)
        if email in self.accounts:
            raise ApiError(409, "Service account %s already exists within project projects/%s." % (
                account_id, project), status="ALREADY_EXISTS", reason="alreadyExists")
        spec = (body or {}).get("serviceAccount") or {}
        unique = str(100000000000000000000 + zlib.crc32(email.encode()))
        account = {"name": "projects/%s/serviceAccounts/%s" % (project, email), "projectId": project,
                   "uniqueId": unique, "email": email, "displayName": spec.get("displayName", ""),
                   "etag": "MDEwMjE5MjA=", "oauth2ClientId": unique}
        if spec.get("description"):
            account["description"] = spec["description"]
        self.accounts[email] = account
        self.policies[email] = {"version": 1, "etag": "ACAB"}
        return account

    def set_policy(self, project, account, body):
        policy = (body or {}).get("policy") or {}
        current = self.policies[account["email"]]
        if policy.get("etag") and _etag_bytes(policy["etag"]) != _etag_bytes(current["etag"]):
            raise ApiError(409, "There were concurrent policy changes. Please retry the whole read-modify-write "
                                "with exponential backoff.", status="ABORTED", reason="aborted")
        pools = self.workload_pools(project)
        for binding in policy.get("bindings") or []:
            for member in binding.get("members") or []:
                wi = WI_MEMBER_RE.match(member)
                if wi and wi.group("pool") not in pools:
                    raise ApiError(400, "Identity Pool does not exist (%s). Please check that you specified a "
                                        "valid resource name as returned in the `name` attribute in the "
                                        "configuration API." % wi.group("pool"), reason="badRequest")
                if not MEMBER_RE.match(member):
                    raise ApiError(400, "Invalid principal: %s" % member, reason="badRequest")
        stored = {"version": policy.get("version", 1), "bindings": policy.get("bindings") or []}
        stored["etag"] = self._etag(stored)
        if not stored["bindings"]:
            del stored["bindings"]
        self.policies[account["email"]] = stored
        return stored

    def live_tokens(self):
        """{access token: Google account} for the tokens still valid."""
        now = time.time()
        with self.lock:
            return {token: account for token, account in self.token_accounts.items()
                    if self.token_expiry.get(token, now + 1) > now}

    def generate_access_token(self, caller, email, body):
        """generateAccessToken for `caller` (a Google account) on the service account `email`."""
        allowed = bool(caller) and email in self.accounts and any(
            binding.get("role") == TOKEN_CREATOR and "user:" + caller in (binding.get("members") or [])
            for binding in self.policies[email].get("bindings") or [])
        if not allowed:
            raise ApiError(403, "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not "
                                "exist).", details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                     "reason": "IAM_PERMISSION_DENIED", "domain": "iam.googleapis.com",
                                                     "metadata": {"permission": "iam.serviceAccounts.getAccessToken"}}])
        lifetime = str((body or {}).get("lifetime") or "3600s")
        seconds = float(lifetime[:-1]) if re.match(r"^\d+(\.\d+)?s$", lifetime) else -1
        if seconds > MAX_LIFETIME:  # Google's words (google-github-actions/auth#145)
            raise ApiError(400, "Access tokens for service account %s can not have lifetimes of more than 1 hour. "
                                "Use the Org Policy Constraint constraints/iam.allowServiceAccountCredentialLifetime"
                                "Extension to allow up to 12 hours." % email)
        if seconds <= 0:  # (the lab's wording)
            raise ApiError(400, "Invalid value at 'lifetime' (%s): a positive duration in seconds, e.g. 3600s." % (
                lifetime))
        token = "ya29.lab-" + secrets.token_urlsafe(32)
        expires = time.time() + seconds
        self.token_accounts[token], self.token_expiry[token] = email, expires
        self._save()
        return {"accessToken": token, "expireTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}

    def route(self, method, path, body, caller=None):
        granted = TOKEN_RE.match(path)
        if granted and method == "POST":
            email = granted.group("email")
            if self.services is not None:
                self.services.require(email.split("@", 1)[-1].split(".", 1)[0], "iamcredentials.googleapis.com")
            with self.lock:
                return 200, self.generate_access_token(caller, email, body)
        match = PATH_RE.match(path)
        if not match:
            raise ApiError(404, "The requested URL %s was not found on this server." % path)
        project, ref, verb = match.group("project"), match.group("account"), match.group("verb")
        if project == "-" and ref and ref.endswith(".iam.gserviceaccount.com"):  # projects/-/serviceAccounts/EMAIL
            project = ref.split("@", 1)[1].split(".", 1)[0]
        if self.services is not None:
            self.services.require(project, "iam.googleapis.com")
        with self.lock:
            if ref is None and method == "POST":
                created = self.create(project, body)
                self._save()
                return 200, created
            if ref is None and method == "GET":
                return 200, {"accounts": [a for a in self.accounts.values() if a["projectId"] == project]}
            account = self._account(project, ref)
            if verb == "getIamPolicy" and method == "POST":
                return 200, self.policies[account["email"]]
            if verb == "setIamPolicy" and method == "POST":
                stored = self.set_policy(project, account, body)
                self._save()
                return 200, stored
            if verb is None and method == "GET":
                return 200, account
            if verb is None and method == "DELETE":
                del self.accounts[account["email"]]
                del self.policies[account["email"]]
                for token in [t for t in self.token_expiry if self.token_accounts[t] == account["email"]]:
                    del self.token_accounts[token], self.token_expiry[token]  # its tokens stop working with it
                self._save()
                return 200, {}
        raise ApiError(404, "The requested URL %s was not found on this server." % path)


class IamHandler(JsonHandler):
    state = None

    def handle_api(self, method, path, query, body):
        token = self.headers.get("Authorization", "")[len("Bearer "):]
        return self.state.route(method, path, body, caller=self.state.token_accounts.get(token))
