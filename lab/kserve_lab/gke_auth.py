# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE's authentication and authorization of Google identities, as webhooks of the lab's kube-apiservers.

On GKE, kube-apiserver takes a Google OAuth 2 access token (the one gcloud or gke-gcloud-auth-plugin hands kubectl)
as a bearer token: GKE asks Google whose it is, and the caller is that Google account, by its email, with no group
of Kubernetes' own (`kubectl auth whoami` shows the email and `system:authenticated`). A token Google does not know
is `Unauthorized`. Authorization is IAM and RBAC together, a request allowed when either allows it; an IAM role on
the project such as roles/owner or roles/container.admin grants everything, and IAM's refusal names the permission
it wanted (`pods is forbidden: User "..." cannot list resource "pods" in API group "" in the namespace "...":
requires one of ["container.pods.list"] permission(s).`, the wording GKE answers with, apache/airflow#37795).
IAM has no opinion on Kubernetes' own identities (service accounts, system users): RBAC alone decides for those.

The lab does the same with kube-apiserver's token webhook (`--authentication-token-webhook-config-file`, version v1)
and authorization webhook (`--authorization-mode RBAC,Webhook`), answered here from the IAM twin's identities: the
lab's token is the lab's account, which owns the lab's project. They answer over TLS only: client-go sends a
kubeconfig's credentials to https servers alone (k8s.io/client-go v0.35.4 tools/clientcmd/client_config.go), and
GKE's are https too. kube-apiserver caches the answers (a token two minutes, an allowed request five, a refusal
thirty seconds: k8s.io/kubernetes v1.35.4 pkg/kubeapiserver/options/authentication.go and authorization.go)."""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import serialization

from .core import ApiError, JsonHandler, LabServer
from .pki import key_pem, make_ca, make_ip_cert, serve_tls, write_private

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"

# Kubernetes names resources in lower case; IAM's permissions spell them in camel case (container.configMaps.get).
CAMEL = {name.lower(): name for name in (
    "apiServices", "certificateSigningRequests", "clusterRoleBindings", "clusterRoles", "configMaps", "controllerRevisions",
    "cronJobs", "csiDrivers", "csiNodes", "customResourceDefinitions", "daemonSets", "endpointSlices",
    "horizontalPodAutoscalers", "ingressClasses", "limitRanges", "localSubjectAccessReviews",
    "mutatingWebhookConfigurations", "networkPolicies", "persistentVolumeClaims", "persistentVolumes",
    "podDisruptionBudgets", "podTemplates", "priorityClasses", "replicaSets", "replicationControllers",
    "resourceQuotas", "roleBindings", "runtimeClasses", "selfSubjectAccessReviews", "selfSubjectRulesReviews",
    "serviceAccounts", "statefulSets", "storageClasses", "subjectAccessReviews", "tokenReviews",
    "validatingAdmissionPolicies", "validatingAdmissionPolicyBindings", "validatingWebhookConfigurations",
    "volumeAttachments")}
# API groups that are Kubernetes' own; objects of any other group (custom resources) are container.thirdPartyObjects.
BUILT_IN_GROUPS = ("", "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "apps",
                   "authentication.k8s.io", "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
                   "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
                   "networking.k8s.io", "node.k8s.io", "policy", "rbac.authorization.k8s.io",
                   "resource.k8s.io", "scheduling.k8s.io", "storage.k8s.io")
VERBS = {"watch": "list", "patch": "update", "deletecollection": "delete"}
SUBRESOURCE_VERBS = {"log": "getLogs", "exec": "exec", "attach": "attach", "portforward": "portForward",
                     "proxy": "proxy", "eviction": "evict"}


def token_review(review, accounts):
    """The TokenReview (authentication.k8s.io/v1) answering `review`: the Google account `accounts` maps its token
    to, or not authenticated."""
    account = accounts.get(((review or {}).get("spec") or {}).get("token") or "")
    status = {"authenticated": True, "user": {"username": account}} if account else {"authenticated": False}
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}


def permission(attributes):
    """The IAM permission GKE asks for a resource request (container.pods.list), or None for other requests."""
    if "resource" not in (attributes or {}):
        return None
    group, resource = attributes.get("group") or "", attributes["resource"]
    verb, sub = attributes.get("verb") or "", attributes.get("subresource") or ""
    if group not in BUILT_IN_GROUPS:
        resource = "thirdPartyObjects"
    if sub in SUBRESOURCE_VERBS:
        action = SUBRESOURCE_VERBS[sub]
    elif sub in ("status", "scale"):
        action = ("get" if verb == "get" else "update") + sub.capitalize()
    else:
        action = VERBS.get(verb, verb)
    return "container.%s.%s" % (CAMEL.get(resource, resource), action)


def access_review(review, owners):
    """The SubjectAccessReview (authorization.k8s.io/v1) answering `review`: allowed for the project's `owners`
    (their role grants every container.* permission); for other Google accounts, no opinion with the permission IAM
    wanted as the reason (RBAC may still allow); for Kubernetes' own identities, no opinion."""
    spec = (review or {}).get("spec") or {}
    user = spec.get("user") or ""
    if user in owners:
        status = {"allowed": True}
    else:
        wanted = permission(spec.get("resourceAttributes")) if "@" in user and ":" not in user else None
        status = {"allowed": False}
        if wanted:
            status["reason"] = 'requires one of ["%s"] permission(s).' % wanted
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "status": status}


def webhook_kubeconfig(url, ca_pem, token):
    """The kubeconfig kube-apiserver reaches a webhook with (its `server` is the URL the reviews are POSTed to)."""
    return ("apiVersion: v1\nkind: Config\ncurrent-context: webhook\n"
            "clusters:\n- name: gke\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n"
            "users:\n- name: kube-apiserver\n  user:\n    token: %s\n"
            "contexts:\n- name: webhook\n  context: {cluster: gke, user: kube-apiserver}\n"
            % (url, base64.b64encode(ca_pem).decode(), token))


class GkeAuthHandler(JsonHandler):
    """The two webhooks, answered from the IAM twin's state (`accounts`: token to Google account; `owners`)."""

    state = None

    def handle_api(self, method, path, query, body):
        if method == "POST" and path == TOKEN_REVIEWS:
            return 200, token_review(body, self.state.live_tokens())
        if method == "POST" and path == ACCESS_REVIEWS:
            return 200, access_review(body, self.state.project_owners)
        raise ApiError(404, "The requested URL %s was not found on this server." % path)


class GkeAuthServer(LabServer):
    """The webhooks' HTTPS server on loopback, with a CA of its own made at start (its files in `folder`, 0600);
    `credentials` is what kube-apiserver's webhook kubeconfigs need: (URL, CA certificate PEM, bearer token)."""

    def __init__(self, host, folder, iam_state, log, knobs, token):
        super().__init__((host, 0), type("BoundGkeAuth", (GkeAuthHandler,), {"state": iam_state}), "gke-auth", log,
                         knobs, auth_token=token)
        ca_cert, ca_key = make_ca("kserve-lab gke-auth")
        cert, key = make_ip_cert(ca_cert, ca_key, host, "gke-auth")
        os.makedirs(folder, exist_ok=True)
        certfile, keyfile = os.path.join(folder, "gke-auth.pem"), os.path.join(folder, "gke-auth.key")
        write_private(certfile, cert.public_bytes(serialization.Encoding.PEM))
        write_private(keyfile, key_pem(key))
        serve_tls(self, certfile, keyfile)
        self.credentials = (self.url, ca_cert.public_bytes(serialization.Encoding.PEM), token)

    @property
    def url(self):
        return "https://%s:%d" % self.server_address[:2]
