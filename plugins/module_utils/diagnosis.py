# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a component is not ready, and what to do: pure functions over what was read from the cluster.

A piece is a CRD, a Deployment, a DaemonSet, a webhook Service or a LoadBalancer Service that the component
needs. For each piece that is not ready, `diagnose` says why, from its Pods, their events and the last lines
of a crash-looping container's log, and gives the fix, for the failure modes of ../shared/facts.md "What
breaks in real installs":

1. a webhook without ready endpoints;                2. a CRD not Established (or a name conflict);
3. a LoadBalancer without an external address;      4. (InferenceServices: module_utils/inference_service.py);
5. Pods Pending for nvidia.com/gpu, CPU or memory;  6. webhooks the control plane cannot reach (private
                                                       clusters), recognised in an API error (`explain_error`).

and besides: CrashLoopBackOff (Knative's "Version check failed" named), image pulls, readiness probes,
Pods the controller could not create.
"""

from __future__ import annotations

import json
import re

from ansible_collections.mlops.kserve_gke.plugins.module_utils.k8s_objects import condition_true
from ansible_collections.mlops.kserve_gke.plugins.module_utils.scheduling import pending_report

GPU = "nvidia.com/gpu"
LOG_LINES = 5
PRIVATE_CLUSTER_FIX = (
    "on a private cluster, the control plane reaches webhooks only on the ports its firewall rule allows: add "
    "a rule from the control plane's range (gcloud container clusters describe ... --format="
    "'value(privateClusterConfig.masterIpv4CidrBlock)') to the nodes on TCP 443, 8443, 10250 and 15017 "
    "(known failure 6)")


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _key(obj):
    return _meta(obj).get("namespace"), _meta(obj).get("name")


def _index(objects):
    return {_key(o): o for o in objects or []}


def _matches(selector, labels):
    """Whether labels satisfy a label selector's matchLabels and matchExpressions (In, NotIn, Exists,
    DoesNotExist)."""
    selector = selector or {}
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values or op == "NotIn" and labels.get(key) in values \
                or op == "Exists" and key not in labels or op == "DoesNotExist" and key in labels:
            return False
    return True


def pods_of(workload, pods):
    """The Pods a Deployment or DaemonSet selects, in its namespace."""
    namespace = _meta(workload).get("namespace")
    selector = (workload.get("spec") or {}).get("selector")
    if not selector:
        return []
    return [p for p in pods or [] if _meta(p).get("namespace") == namespace
            and _matches(selector, _meta(p).get("labels"))]


def events_of(obj, events, kind=None):
    """Warning events about an object (by kind and name, in its namespace), newest last."""
    namespace, name = _key(obj)
    kind = kind or obj.get("kind")
    found = [e for e in events or [] if (e.get("type") or "Warning") == "Warning"
             and (e.get("involvedObject") or {}).get("name") == name
             and (e.get("involvedObject") or {}).get("namespace", namespace) == namespace
             and (kind is None or (e.get("involvedObject") or {}).get("kind") in (None, kind))]
    return sorted(found, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")


def _waiting(pod):
    """(container, reason, message) of the first container (init containers first) that waits, else None."""
    status = pod.get("status") or {}
    for st in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (st.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
            return st.get("name"), waiting.get("reason"), waiting.get("message") or ""
    return None


def _scheduling_message(pod):
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return cond.get("message") or cond.get("reason") or "not scheduled"
    return None


def _tail(text, lines=LOG_LINES):
    rows = [r for r in (text or "").splitlines() if r.strip()]
    return " | ".join(rows[-lines:])


def pod_problem(pod, events, logs, nodes, all_pods, pending_fix):
    """(why, fix) for one Pod that keeps its workload from being ready, else None."""
    name = "%s/%s" % _key(pod)
    message = _scheduling_message(pod)
    if message:
        if "Insufficient " + GPU in message:
            return ("Pod %s is Pending: %s" % (name, message.split(" preemption:")[0]),
                    "no node offers a free %s: the GPU node pool is missing or at its size, or the NVIDIA driver "
                    "and device plugin are not ready there yet (known failure 5). Run the nvidia_driver role "
                    "(--tags nvidia_driver) and check the GPU pool (gke_cluster_gpu_*)" % GPU)
        report = pending_report([pod], all_pods, nodes, pending_fix)
        if report:
            return report[0], pending_fix
        return ("Pod %s is Pending: %s" % (name, message),
                "make a node fit the Pod's node selector and tolerations, or change them")
    mounts = [e for e in events_of(pod, events, "Pod") if e.get("reason") == "FailedMount"]
    if mounts and (pod.get("status") or {}).get("phase") in (None, "", "Pending"):
        message = mounts[-1].get("message") or ""
        secret = re.search(r'secret "([^"]+)" not found', message)
        return ("Pod %s cannot start: %s" % (name, message),
                "the Secret %s is missing; a webhook's serving certificate is issued by cert-manager from a "
                "Certificate of the same release: check that cert-manager runs (--tags cert_manager) and the "
                "Certificate is Ready (kubectl get certificate -n %s)" % (secret.group(1), _key(pod)[0])
                if secret else "create what the message names")
    waiting = _waiting(pod)
    if waiting:
        container, reason, detail = waiting
        if reason == "CrashLoopBackOff" or reason == "Error":
            log = _tail(logs.get((_key(pod)[0], _key(pod)[1], container)))
            why = "Pod %s: container %s is in %s%s" % (name, container, reason,
                                                       "; its last log lines: " + log if log else "")
            if "Version check failed" in log or "minimum version" in log.lower() and "kubernetes" in log.lower():
                return why, ("the cluster's Kubernetes is older than this release's minimum: upgrade the cluster "
                             "(gke_cluster_version) or pin an older release (kserve_gke_versions); the validation "
                             "play's compatibility matrix names the minimums")
            return why, "read the whole log (kubectl logs -p -n %s %s -c %s) and fix what it names" % (
                _key(pod)[0], _key(pod)[1], container)
        if reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName"):
            return ("Pod %s: container %s cannot pull its image (%s: %s)" % (name, container, reason, detail),
                    "check that the image exists at that tag; a private cluster without Cloud NAT pulls only from "
                    "Artifact Registry or a mirror (set the release's image registry accordingly)")
        if reason == "CreateContainerConfigError":
            return ("Pod %s: container %s cannot start: %s" % (name, container, detail),
                    "create the Secret or ConfigMap it names (the release file's order, or a missing step)")
        return "Pod %s: container %s waits (%s: %s)" % (name, container, reason, detail), \
            "look at kubectl describe pod -n %s %s" % _key(pod)
    if (pod.get("status") or {}).get("phase") == "Running" and not condition_true(pod, "Ready"):
        unhealthy = [e for e in events_of(pod, events, "Pod") if e.get("reason") == "Unhealthy"]
        detail = ": " + unhealthy[-1].get("message", "") if unhealthy else " (its readiness probe fails)"
        return ("Pod %s runs but is not Ready%s" % (name, detail),
                "read its log (kubectl logs -n %s %s); it may still be starting" % _key(pod))
    return None


def workload_problems(workload, kind, pods, events, logs, nodes, pending_fix):
    """[(why, fix)] for a Deployment or DaemonSet that is not ready."""
    mine = pods_of(workload, pods)
    found = [p for p in (pod_problem(pod, events, logs, nodes, pods, pending_fix) for pod in mine) if p]
    if found:
        # One line per distinct why (many replicas fail alike); the first fix of each.
        seen, unique = set(), []
        for why, fix in found:
            short = re.sub(r"Pod \S+", "Pod", why)
            if short not in seen:
                seen.add(short)
                unique.append((why, fix))
        return unique
    created = [e for e in events if e.get("reason") in ("FailedCreate", "FailedCreatePodSandBox")
               and _meta(workload).get("name", "") in ((e.get("involvedObject") or {}).get("name") or "")]
    if created:
        return [("%s %s/%s has no Pods: %s" % ((kind,) + _key(workload) + (created[-1].get("message", ""),)),
                 "fix what the message names (a quota, a webhook refusing Pods, a missing ServiceAccount)")]
    if not mine:
        return [("%s %s/%s has no Pods yet" % ((kind,) + _key(workload)),
                 "look at kubectl describe %s -n %s %s" % ((kind.lower(),) + _key(workload)))]
    return [("%s %s/%s is not ready yet (its Pods are starting)" % ((kind,) + _key(workload)),
             "wait longer (the role's *_wait_timeout), or look at its Pods")]


def crd_problem(crd):
    """(why, fix) for a CRD that is not Established."""
    name = _meta(crd).get("name")
    for cond in (crd.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "NamesAccepted" and cond.get("status") == "False":
            return ("CRD %s is not Established: %s" % (name, cond.get("message") or cond.get("reason")),
                    "another CRD of the same group already uses one of its names; find it (kubectl get crd), "
                    "remove it or the release that brought it, and this one is accepted on its own")
    return ("CRD %s is not Established yet (known failure 2)" % name,
            "look at the API server (kubectl get crd %s -o yaml), then re-run" % name)


def ready_addresses(endpoint_slices, endpoints, namespace, name):
    """How many ready addresses a Service has, from its EndpointSlices or (older clusters) its Endpoints."""
    count = 0
    for eps in endpoint_slices or []:
        labels = _meta(eps).get("labels") or {}
        if _meta(eps).get("namespace") == namespace and labels.get("kubernetes.io/service-name") == name:
            count += sum(1 for e in eps.get("endpoints") or []
                         if (e.get("conditions") or {}).get("ready") is not False)
    for ep in endpoints or []:
        if _key(ep) == (namespace, name):
            count += sum(len(s.get("addresses") or []) for s in ep.get("subsets") or [])
    return count


def service_problem(service, kind_of_need, pods, events):
    """(why, fix) for a webhook Service without ready endpoints or a LoadBalancer without an address."""
    namespace, name = _key(service) if service else (None, None)
    if kind_of_need == "webhook":
        selector = {"matchLabels": (service.get("spec") or {}).get("selector") or {}}
        behind = [p for p in pods or [] if _meta(p).get("namespace") == namespace
                  and _matches(selector, _meta(p).get("labels"))]
        return ("webhook Service %s/%s has no ready endpoints (known failure 1: \"no endpoints available for "
                "service\")%s" % (namespace, name, "; no Pod matches its selector" if not behind else
                                  "; %d Pod(s) behind it, none Ready" % len(behind)),
                "the webhook's Pods must be Ready (see above); a Service selector that matches no Pod is a broken "
                "release file")
    warnings = events_of(service, events, "Service")
    return ("LoadBalancer Service %s/%s has no external address yet (known failure 3)%s" % (
        namespace, name, ": " + warnings[-1].get("message", "") if warnings else ""),
        "GKE gives one within minutes; a quota (IN_USE_ADDRESSES, FORWARDING_RULES) or a reserved address that "
        "does not exist keeps it pending: kubectl describe service -n %s %s" % (namespace, name))


def webhook_not_serving(message):
    """Whether an API error says a webhook could not be called (no endpoints yet, its server not answering, or a
    certificate the API server does not trust yet): what a webhook just started may still say."""
    text = message or ""
    return "no endpoints available for service" in text or (
        "failed calling webhook" in text and bool(re.search(
            r"connection refused|context deadline exceeded|i/o timeout|x509|certificate|EOF", text)))


def forbidden_fix(message):
    """The fix for a request the cluster refused to its caller, else None. GKE authorizes with IAM beside RBAC,
    and IAM's refusal names the permissions it wanted (`requires one of ["container.pods.list"] permission(s).`);
    without that, RBAC alone refused (a Kubernetes identity)."""
    refused = re.search(r'is forbidden: User "([^"]+)" cannot (\S+) resource "([^"]+)"', message or "")
    if not refused:
        return None
    user, verb, resource = refused.groups()
    wanted = re.search(r"requires one of \[([^\]]*)\] permission\(s\)", message)
    if wanted:
        member = ("serviceAccount:" if user.endswith(".gserviceaccount.com") else "user:") + user
        return ("the Google account %s lacks %s on the project (GKE checks IAM beside RBAC): grant it a role that "
                "holds it, e.g. roles/container.admin, which installing components needs (gcloud projects "
                "add-iam-policy-binding <project> --member=%s --role=roles/container.admin), or bind it to a "
                "Kubernetes role that allows it, then re-run" % (user, wanted.group(1).replace('"', ""), member))
    return ("%s may not %s %s in this cluster (RBAC): bind it to a ClusterRole that allows it (installing "
            "components needs cluster-admin), then re-run" % (user, verb, resource))


def explain_error(message):
    """The fix for an API error that is one of the known failures, or a refusal to the caller, else None."""
    text = message or ""
    if "failed calling webhook" in text and re.search(r"context deadline exceeded|i/o timeout|connection refused"
                                                      r"|Address is not allowed", text):
        return PRIVATE_CLUSTER_FIX
    if "no endpoints available for service" in text:
        return ("a webhook this object passes through is not serving yet (known failure 1); wait for its Pods, "
                "or re-run once they are Ready")
    if "no matches for kind" in text or "the server could not find the requested resource" in text:
        return ("the kind's CRD is missing or not Established yet (known failure 2): install the component that "
                "brings it first (its tag), then re-run")
    if "field is immutable" in text:
        return ("a field that cannot change differs from the cluster's object; delete that object (it is "
                "re-created) or keep the old value")
    return forbidden_fix(text)


def failed_request(result):
    """What a failed kubernetes.core task (its registered result) was told, with the fix when one is known: the
    API server's own message from the response body the client's exception carries, not the exception's headers
    and traceback."""
    text = str((result or {}).get("msg") or "")
    body = re.search(r"HTTP response body: (\{.*\})", text)
    message = None
    if body:
        try:
            message = json.loads(body.group(1)).get("message")
        except ValueError:
            message = None
    if not message:
        message = text.strip().splitlines()[0] if text.strip() else "the task failed without a message"
    fix = explain_error(message)
    return "%s.%s" % (message.rstrip("."), " Fix: %s." % fix.rstrip(".") if fix else "")


def diagnose(pieces, state, pods, events, logs, nodes, pending_fix):
    """[{piece, why, fix}] for every piece not ready.

    pieces: [{kind, namespace, name}] that are not ready (kind CustomResourceDefinition, Deployment, DaemonSet,
    WebhookService or LoadBalancer); state: {kind: [objects read]} with those kinds plus Service; pods, events,
    nodes: lists; logs: {(namespace, pod, container): text}."""
    findings = []
    for piece in pieces:
        kind, key = piece["kind"], (piece.get("namespace"), piece["name"])
        label = "%s %s" % (kind, "/".join(k for k in key if k))
        if kind == "CustomResourceDefinition":
            obj = _index(state.get(kind)).get((None, piece["name"]))
            problems = [crd_problem(obj)] if obj else [("CRD %s does not exist" % piece["name"],
                                                        "re-run; the apply may have failed before it")]
        elif kind in ("Deployment", "DaemonSet"):
            obj = _index(state.get(kind)).get(key)
            problems = workload_problems(obj, kind, pods, events, logs, nodes, pending_fix) if obj else \
                [("%s does not exist" % label, "re-run; the apply may have failed before it")]
        else:
            service = _index(state.get("Service")).get(key)
            problems = [service_problem(service, "webhook" if kind == "WebhookService" else "lb", pods, events)] \
                if service else [("Service %s/%s does not exist" % key, "re-run; the apply may have failed "
                                  "before it")]
        findings.extend({"piece": label, "why": why, "fix": fix} for why, fix in problems)
    return findings


def report(component, findings, seconds):
    """One message: what is not ready after how long, each why, then the fixes (each once)."""
    if not findings:
        return "%s is ready." % component
    lines = ["%s is not ready after %d s." % (component, seconds)]
    lines += ["- %s" % f["why"].rstrip(".") + "." for f in findings]
    fixes = []
    for finding in findings:
        if finding["fix"] not in fixes:
            fixes.append(finding["fix"])
    lines += ["Fix: %s." % fix.rstrip(".") for fix in fixes]
    return " ".join(lines)
