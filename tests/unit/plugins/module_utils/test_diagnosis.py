# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table tests: each failure mode of facts.md "What breaks in real installs" (4, InferenceServices, is
module_utils/inference_service.py's, tested in test_inference_service.py), and the others the diagnosis names."""
from __future__ import annotations

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils import diagnosis

NS = "knative-serving"
SYSTEM = {"metadata": {"name": "gke-system-1", "labels": {}},
          "status": {"allocatable": {"cpu": "3920m", "memory": "13961532Ki"}}}
FIX = "give the node pool more room"


def deployment(name="controller", labels=None):
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels or {"app": name}}},
            "status": {"conditions": [{"type": "Available", "status": "False"}]}}


def pod(name="controller-abc", app="controller", phase="Running", waiting=None, init_waiting=None, scheduled=None,
        ready=False, cpu="1"):
    status = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if scheduled:
        status["conditions"].append({"type": "PodScheduled", "status": "False", "message": scheduled})
    if waiting:
        status["containerStatuses"] = [{"name": "controller", "state": {"waiting": waiting}}]
    if init_waiting:
        status["initContainerStatuses"] = [{"name": "init", "state": {"waiting": init_waiting}}]
    return {"metadata": {"name": name, "namespace": NS, "labels": {"app": app},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": app + "-rs"}]},
            "spec": {"containers": [{"name": "controller", "resources": {"requests": {"cpu": cpu}}}]},
            "status": status}


def event(name, reason, message, kind="Pod"):
    return {"type": "Warning", "reason": reason, "message": message, "lastTimestamp": "2026-11-29T08:00:00Z",
            "involvedObject": {"kind": kind, "namespace": NS, "name": name}}


def service(name="webhook", selector=None, lb=False):
    return {"kind": "Service", "metadata": {"name": name, "namespace": NS},
            "spec": dict({"selector": selector or {"app": "webhook"}}, **({"type": "LoadBalancer"} if lb else {}))}


def crd(name, names_accepted=True, message=""):
    conditions = [{"type": "NamesAccepted", "status": "True" if names_accepted else "False",
                   "reason": "KindConflict" if not names_accepted else "NoConflicts", "message": message},
                  {"type": "Established", "status": "False"}]
    return {"kind": "CustomResourceDefinition", "metadata": {"name": name}, "status": {"conditions": conditions}}


def run(piece, state, pods=(), events=(), logs=None, nodes=(SYSTEM,)):
    return diagnosis.diagnose([piece], state, list(pods), list(events), logs or {}, list(nodes), FIX)


DEPLOYMENT = {"kind": "Deployment", "namespace": NS, "name": "controller"}


@pytest.mark.parametrize("case, piece, state, pods, events, logs, why, fix", [
    # 1. A webhook without ready endpoints, with or without Pods behind it.
    ("webhook, Pod not ready", {"kind": "WebhookService", "namespace": NS, "name": "webhook"},
     {"Service": [service()]}, [pod("webhook-1", app="webhook")], [], {},
     "webhook Service knative-serving/webhook has no ready endpoints (known failure 1", "webhook's Pods must be Ready"),
    ("webhook, no Pod behind", {"kind": "WebhookService", "namespace": NS, "name": "webhook"},
     {"Service": [service()]}, [], [], {}, "no Pod matches its selector", "broken release file"),
    # 2. A CRD that is not Established: another CRD holds its names, or not yet.
    ("CRD name conflict", {"kind": "CustomResourceDefinition", "namespace": None, "name": "certificates.x.io"},
     {"CustomResourceDefinition": [crd("certificates.x.io", False, '"Certificate" is already in use')]}, [], [], {},
     "CRD certificates.x.io is not Established: \"Certificate\" is already in use",
     "another CRD of the same group already uses one of its names"),
    ("CRD not yet", {"kind": "CustomResourceDefinition", "namespace": None, "name": "issuers.x.io"},
     {"CustomResourceDefinition": [crd("issuers.x.io")]}, [], [], {}, "not Established yet (known failure 2)",
     "kubectl get crd issuers.x.io"),
    # 3. A LoadBalancer without an address, with the cloud's reason.
    ("no LB address", {"kind": "LoadBalancer", "namespace": NS, "name": "gateway"},
     {"Service": [service("gateway", lb=True)]}, [],
     [event("gateway", "SyncLoadBalancerFailed", "Quota 'IN_USE_ADDRESSES' exceeded", kind="Service")], {},
     "has no external address yet (known failure 3): Quota 'IN_USE_ADDRESSES' exceeded", "quota"),
    # 5. Pods Pending: no free GPU, or CPU and memory (with the numbers), or a node selector.
    ("no free GPU", DEPLOYMENT, {"Deployment": [deployment()]},
     [pod(phase="Pending", scheduled="0/2 nodes are available: 2 Insufficient nvidia.com/gpu.")], [], {},
     "Insufficient nvidia.com/gpu", "known failure 5"),
    ("no CPU", DEPLOYMENT, {"Deployment": [deployment()]},
     [pod(phase="Pending", cpu="8", scheduled="0/1 nodes are available: 1 Insufficient cpu.")], [], {},
     "it asks for 8 CPU", FIX),
    ("node selector", DEPLOYMENT, {"Deployment": [deployment()]},
     [pod(phase="Pending", scheduled="0/1 nodes are available: 1 node(s) didn't match Pod's node affinity.")], [],
     {}, "didn't match Pod's node affinity", "node selector"),
    # CrashLoopBackOff with the last log lines; Knative's version check named.
    ("crash loop", DEPLOYMENT, {"Deployment": [deployment()]},
     [pod(waiting={"reason": "CrashLoopBackOff", "message": "back-off"})], [],
     {(NS, "controller-abc", "controller"): "starting\npanic: no config-features\n"},
     "container controller is in CrashLoopBackOff; its last log lines: starting | panic: no config-features",
     "kubectl logs -p -n knative-serving controller-abc -c controller"),
    ("Knative version check", DEPLOYMENT, {"Deployment": [deployment()]},
     [pod(waiting={"reason": "CrashLoopBackOff"})], [],
     {(NS, "controller-abc", "controller"): '{"message": "Version check failed", "error": "kubernetes version '
                                            '\\"1.33.4\\" is not compatible, need at least \\"1.34.0\\""}'},
     "Version check failed", "older than this release's minimum"),
    # An image that cannot be pulled (the init container's too).
    ("image pull", DEPLOYMENT, {"Deployment": [deployment()]},
     [pod(phase="Pending", waiting={"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x:1\""})],
     [], {}, "cannot pull its image (ImagePullBackOff", "Artifact Registry"),
    ("init image pull", DEPLOYMENT, {"Deployment": [deployment()]},
     [pod(phase="Pending", init_waiting={"reason": "ErrImagePull", "message": "not found"})], [], {},
     "container init cannot pull its image", "image exists"),
    # A missing Secret (a webhook certificate cert-manager issues).
    ("missing secret", DEPLOYMENT, {"Deployment": [deployment()]}, [pod(phase="Pending")],
     [event("controller-abc", "FailedMount", 'MountVolume.SetUp failed for volume "cert" : secret "webhook-cert" '
                                             'not found')], {},
     "cannot start: MountVolume.SetUp failed", "the Secret webhook-cert is missing"),
    # Running but not Ready: the readiness probe's words.
    ("readiness probe", DEPLOYMENT, {"Deployment": [deployment()]}, [pod()],
     [event("controller-abc", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503")], {},
     "runs but is not Ready: Readiness probe failed", "it may still be starting"),
    # No Pods: the controller could not create them.
    ("pods not created", DEPLOYMENT, {"Deployment": [deployment()]}, [],
     [event("controller-rs", "FailedCreate", "pods \"controller-\" is forbidden: exceeded quota", kind="ReplicaSet")],
     {}, "has no Pods: pods \"controller-\" is forbidden: exceeded quota", "quota"),
    ("nothing yet", DEPLOYMENT, {"Deployment": [deployment()]}, [], [], {}, "has no Pods yet", "kubectl describe"),
    ("missing object", DEPLOYMENT, {"Deployment": []}, [], [], {}, "does not exist", "re-run"),
])
def test_diagnose_names_the_piece_why_and_the_fix(case, piece, state, pods, events, logs, why, fix):
    findings = run(piece, state, pods, events, logs)
    assert findings, case
    assert why in findings[0]["why"], (case, findings)
    assert fix in findings[0]["fix"], (case, findings)


def test_replicas_that_fail_alike_are_said_once():
    pods = [pod("controller-%d" % n, waiting={"reason": "ImagePullBackOff", "message": "x"}) for n in range(3)]
    assert len(run(DEPLOYMENT, {"Deployment": [deployment()]}, pods)) == 1


@pytest.mark.parametrize("message, fix", [
    # 6. Private clusters: the control plane cannot reach the webhook.
    ('Internal error occurred: failed calling webhook "webhook.serving.knative.dev": failed to call webhook: Post '
     '"https://webhook.knative-serving.svc:443/?timeout=10s": context deadline exceeded', "known failure 6"),
    ('failed calling webhook "x": dial tcp 10.0.0.1:8443: i/o timeout', "TCP 443, 8443, 10250 and 15017"),
    # 1. and 2. as the API server words them.
    ('Internal error occurred: failed calling webhook "x": no endpoints available for service "webhook"',
     "known failure 1"),
    ('no matches for kind "Certificate" in version "cert-manager.io/v1"', "known failure 2"),
    ('Deployment.apps "x" is invalid: spec.selector: Invalid value: ...: field is immutable', "re-created"),
    # GKE: IAM refused the Google account (its words: apache/airflow#37795), RBAC did not allow either
    ('clusterroles.rbac.authorization.k8s.io is forbidden: User "dev@example.com" cannot create resource '
     '"clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope: requires one of '
     '["container.clusterRoles.create"] permission(s).',
     "the Google account dev@example.com lacks container.clusterRoles.create on the project"),
    ('pods is forbidden: User "ci@p.iam.gserviceaccount.com" cannot list resource "pods" in API group "" in the '
     'namespace "x": requires one of ["container.pods.list"] permission(s).',
     "--member=serviceAccount:ci@p.iam.gserviceaccount.com --role=roles/container.admin"),
    # RBAC alone: a Kubernetes identity
    ('pods is forbidden: User "system:serviceaccount:awx:runner" cannot list resource "pods" in API group "" in '
     'the namespace "x"', "system:serviceaccount:awx:runner may not list pods in this cluster (RBAC)"),
    ("something else", None),
])
def test_explain_error(message, fix):
    found = diagnosis.explain_error(message)
    assert (found is None) if fix is None else (fix in found)


def test_ready_addresses_counts_endpoint_slices_and_endpoints():
    slices = [{"metadata": {"namespace": NS, "labels": {"kubernetes.io/service-name": "webhook"}},
               "endpoints": [{"conditions": {"ready": True}}, {"conditions": {"ready": False}}]}]
    endpoints = [{"metadata": {"namespace": NS, "name": "webhook"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}]
    assert diagnosis.ready_addresses(slices, [], NS, "webhook") == 1
    assert diagnosis.ready_addresses([], endpoints, NS, "webhook") == 1
    assert diagnosis.ready_addresses([], endpoints, NS, "other") == 0


def test_report_says_each_why_then_each_fix_once():
    findings = [{"piece": "a", "why": "A is stuck.", "fix": "do X"}, {"piece": "b", "why": "B is stuck", "fix": "do X"}]
    assert diagnosis.report("Istio", findings, 30) == "Istio is not ready after 30 s. - A is stuck. - B is stuck. " \
                                                      "Fix: do X."


@pytest.mark.parametrize("message, transient", [
    ('Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post '
     '"https://cert-manager-webhook.cert-manager.svc:443/validate?timeout=30s": no endpoints available for service '
     '"cert-manager-webhook"', True),
    ('Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post '
     '"https://cert-manager-webhook.cert-manager.svc:443/validate?timeout=30s": tls: failed to verify certificate: '
     'x509: certificate signed by unknown authority', True),
    ('Internal error occurred: failed calling webhook "webhook.cert-manager.io": ... dial tcp 10.0.0.7:10250: '
     'connect: connection refused', True),
    ('admission webhook "webhook.cert-manager.io" denied the request: spec: Required value: at least one issuer '
     'type must be set', False),
    ("issuers.cert-manager.io is forbidden: User \"x\" cannot patch resource", False),
])
def test_webhook_not_serving_tells_a_webhook_starting_from_a_refusal(message, transient):
    assert diagnosis.webhook_not_serving(message) is transient


FORBIDDEN_BODY = ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"namespaces '
                  '\\"kube-system\\" is forbidden: User \\"ci@p.iam.gserviceaccount.com\\" cannot get resource '
                  '\\"namespaces\\" in API group \\"\\" in the namespace \\"kube-system\\": requires one of '
                  '[\\"container.namespaces.get\\"] permission(s).","reason":"Forbidden","code":403}')


@pytest.mark.parametrize("result, expected", [
    # kubernetes.core passes on the client's exception: headers, body and traceback
    ({"failed": True, "msg": "Exception '403\nReason: Forbidden\nHTTP response headers: HTTPHeaderDict({})\n"
                             "HTTP response body: %s\n\nOriginal traceback:\n  File ..." % FORBIDDEN_BODY},
     'namespaces "kube-system" is forbidden: User "ci@p.iam.gserviceaccount.com" cannot get resource "namespaces" '
     'in API group "" in the namespace "kube-system": requires one of ["container.namespaces.get"] permission(s). '
     "Fix: the Google account ci@p.iam.gserviceaccount.com lacks container.namespaces.get on the project"),
    ({"failed": True, "msg": "Failed to load kubeconfig due to Invalid kube-config file."},
     "Failed to load kubeconfig due to Invalid kube-config file."),
    ({"failed": True, "msg": "HTTP response body: {not json"}, "HTTP response body: {not json."),
    ({"failed": True}, "the task failed without a message."),
])
def test_failed_request_keeps_the_api_servers_words_and_adds_the_fix(result, expected):
    assert diagnosis.failed_request(result).startswith(expected)
