# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""InferenceServices: the checks before anything is applied, the reading of their status while the role
waits, and the report when one does not get to Ready. Pure functions on dicts."""

from __future__ import annotations

import re

from ansible_collections.mlops.kserve_gke.plugins.module_utils.inputs import current_deployment_mode

NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
GPU_SUFFIX = "-gpu"
NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Reasons that do not go away by waiting: the spec must change.
INVALID = "InvalidSpec"
BLOCKED = "BlockedByFailedLoad"
STORAGE_INIT = "storage-initializer"


def service_errors(services):
    """Every problem of the list, each naming the item, the field and the fix (empty when fine)."""
    errors, seen = [], set()
    for index, svc in enumerate(services or []):
        where = "inference_service_models[%d]" % index
        name = str(svc.get("name") or "")
        if name:
            where += " (%s)" % name
        if not NAME_RE.match(name) or len(name) > 63:
            errors.append("%s: name %r must be a DNS-1035 label (lower case letters, digits and '-', starting with a "
                          "letter, at most 63 characters), as KServe requires. Fix: rename it, e.g. 'dogs-vs-cats'."
                          % (where, name))
        key = (svc.get("namespace"), name)
        if key in seen:
            errors.append("%s: %s/%s is listed twice. Fix: give each InferenceService its own name." % (
                where, svc.get("namespace"), name))
        seen.add(key)
        namespace = svc.get("namespace")
        if namespace is not None and not (NAMESPACE_RE.match(str(namespace)) and len(str(namespace)) <= 63):
            errors.append("%s: namespace %r is not a Kubernetes namespace name (a DNS-1123 label: lower case "
                          "letters, digits and '-', at most 63 characters). Fix: e.g. 'models'." % (where, namespace))
        uri = str(svc.get("storage_uri") or "")
        if uri.startswith("s3://"):
            errors.append("%s: storage_uri %r is in S3: the predictors get Google credentials only (Workload "
                          "Identity), so the storage initializer would retry until the wait runs out. Fix: put the "
                          "model in GCS (the gcs_model role) and use gs://BUCKET/PATH." % (where, uri))
        elif not re.match(r"^(gs|https?|pvc|hf|oci)://.+", uri):
            errors.append("%s: storage_uri %r is not a model location. Fix: use gs://BUCKET/PATH (the gcs_model "
                          "role's gcs_model_storage_uri)." % (where, uri))
        try:
            gpus = int(svc.get("gpus") or 0)
        except (TypeError, ValueError):
            gpus = -1
        if gpus < 0:
            errors.append("%s: gpus %r is not a number of GPUs. Fix: 0 for a CPU predictor, or 1 or more."
                          % (where, svc.get("gpus")))
            gpus = 0
        version = str(svc.get("runtime_version") or "")
        if version and gpus and not version.endswith(GPU_SUFFIX):
            errors.append("%s: runtime_version %r with gpus %d: KServe refuses a TensorFlow runtime version without "
                          "'-gpu' when GPUs are requested. Fix: runtime_version '%s-gpu', or leave it empty to let "
                          "KServe pick the GPU image." % (where, version, gpus, version))
        if version.endswith(GPU_SUFFIX) and not gpus:
            errors.append("%s: runtime_version %r is a GPU image but gpus is 0. Fix: set gpus, or drop '-gpu'."
                          % (where, version))
        low, high = svc.get("min_replicas"), svc.get("max_replicas")
        if low is not None and high is not None and int(high) and int(low) > int(high):
            errors.append("%s: min_replicas %s is above max_replicas %s. Fix: raise max_replicas or lower "
                          "min_replicas." % (where, low, high))
        canary = svc.get("canary_traffic_percent")
        if canary is not None and not 0 <= int(canary) <= 100:
            errors.append("%s: canary_traffic_percent %s is not between 0 and 100. Fix: a percentage, or leave it "
                          "unset to send all traffic to the latest revision." % (where, canary))
    return errors


def _condition(isvc, kind):
    for cond in (isvc.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


def is_ready(isvc):
    status = isvc.get("status") or {}
    generation = (isvc.get("metadata") or {}).get("generation")
    fresh = status.get("observedGeneration") in (None, generation)
    return fresh and _condition(isvc, "Ready").get("status") == "True" and bool(status.get("url"))


def endpoint(isvc):
    """Where an InferenceService answers: its URL, the host to send as Host header without DNS, and whether it
    is served through an Ingress of its own (Standard mode) rather than the shared ingress gateway."""
    status = isvc.get("status") or {}
    url = status.get("url") or ""
    host = re.sub(r"^[a-z]+://", "", url).split("/")[0].split(":")[0]
    return {"name": isvc["metadata"]["name"], "namespace": isvc["metadata"]["namespace"], "url": url, "host": host,
            "standard": current_deployment_mode(status.get("deploymentMode")) == "Standard"}


def _load_balancer_ip(obj):
    found = (((obj or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}]
    return found[0].get("ip") or found[0].get("hostname") or ""


def with_addresses(endpoints, gateway, ingresses):
    """The endpoints, each with the address it answers on without DNS: the ingress gateway Service's for those
    routed by Knative and Istio, its own Ingress's load balancer for a Standard-mode one (KServe names the
    Ingress after the InferenceService); empty while that has none. `gateway` is the gateway Service, or its
    address when that is known already."""
    gateway_address = gateway if isinstance(gateway, str) else _load_balancer_ip(gateway)
    by_key = {((i.get("metadata") or {}).get("namespace"), (i.get("metadata") or {}).get("name")): i
              for i in ingresses or []}
    return [dict(e, ingress_address=_load_balancer_ip(by_key.get((e["namespace"], e["name"])))
                 if e.get("standard") else gateway_address) for e in endpoints or []]


def progress(resources, wanted, attempt=0, blocked_polls=0):
    """Split the wanted {namespace, name} InferenceServices into ready, waiting and failed, and give the
    endpoints of the ready ones, in the order wanted.

    Failed: an InvalidSpec (no runtime for the format, ...) at once; a failed model load once it has
    been seen on more than blocked_polls polls (a fresh IAM grant takes a while to be honoured, and the
    storage initializer retries)."""
    found = {((r.get("metadata") or {}).get("namespace"), (r.get("metadata") or {}).get("name")): r
             for r in resources or []}
    out = {"ready": [], "waiting": [], "failed": [], "endpoints": []}
    for want in wanted or []:
        key = (want["namespace"], want["name"])
        isvc = found.get(key)
        label = "%s/%s" % key
        if isvc is not None and is_ready(isvc):
            out["ready"].append(label)
            out["endpoints"].append(endpoint(isvc))
            continue
        transition = (((isvc or {}).get("status") or {}).get("modelStatus") or {}).get("transitionStatus")
        if transition == INVALID or transition == BLOCKED and int(attempt) > int(blocked_polls):
            out["failed"].append(label)
        else:
            out["waiting"].append(label)
    return out


def report(isvc, pods=None, events=None, logs=None):
    """Why an InferenceService is not Ready, from what the cluster says: conditions that are not True,
    lastFailureInfo, the predictor Pods' phases and warning events, and the storage initializer's last
    log lines. logs: {pod name: text}."""
    if not isvc:
        return "the InferenceService does not exist (the KServe controller or its webhook may have refused it)"
    meta = isvc["metadata"]
    parts = ["%s/%s is not Ready." % (meta.get("namespace"), meta.get("name"))]
    status = isvc.get("status") or {}
    if not status:
        parts.append("It has no status: the KServe controller has not looked at it (is kserve-controller-manager "
                     "running?).")
    groups = {}  # conditions with the same status, reason and message are said once
    for cond in status.get("conditions") or []:
        if cond.get("status") != "True":
            groups.setdefault((cond.get("status"), cond.get("reason"), cond.get("message")), []).append(cond.get("type"))
    if groups:
        parts.append("Conditions: " + "; ".join("%s=%s%s" % (
            ", ".join(types), state, " (%s: %s)" % (reason, message) if reason else "")
            for (state, reason, message), types in groups.items()) + ".")
    model = status.get("modelStatus") or {}
    info = model.get("lastFailureInfo") or {}
    if info:
        parts.append("lastFailureInfo: %s%s: %s" % (info.get("reason"), " in %s" % info["location"] if info.get(
            "location") else "", info.get("message", "")))
    hint = hint_for(info, pods)
    names = set()
    for pod in pods or []:
        pname = pod["metadata"]["name"]
        names.add(pname)
        pstatus = pod.get("status") or {}
        waiting = [s for s in (pstatus.get("initContainerStatuses") or []) + (pstatus.get("containerStatuses") or [])
                   if not s.get("ready")]
        parts.append("Pod %s: %s%s." % (pname, pstatus.get("phase") or "Pending", "".join(
            ", %s %s" % (s.get("name"), _state_word(s)) for s in waiting)))
    seen = {}
    for event in events or []:
        if event.get("type") == "Warning" and (event.get("involvedObject") or {}).get("name") in names:
            key = (event.get("reason"), event["involvedObject"]["name"], event.get("message", ""))
            seen[key] = seen.get(key, 0) + int(event.get("count") or 1)
    for (reason, obj, message), count in list(seen.items())[-5:]:
        parts.append("Event %s on %s%s: %s" % (reason, obj, " (x%d)" % count if count > 1 else "", message))
    for pname, text in sorted((logs or {}).items()):
        lines = [line for line in (text or "").splitlines() if line.strip()][-5:]
        if pname in names and lines:
            parts.append("storage-initializer log of %s (last lines): %s" % (pname, " | ".join(lines)))
    if hint:
        parts.append("Fix: " + hint)
    return " ".join(parts)


def _state_word(status):
    state = status.get("state") or {}
    detail = state.get("waiting") or state.get("terminated") or {}
    return detail.get("reason") or ("running" if "running" in state else "starting")


def hint_for(info, pods):
    """The fix for the failure, where it is one of the known ones (../shared/facts.md, failure 4 and 5)."""
    reason, message = info.get("reason", ""), info.get("message", "")
    if reason == "NoSupportingRuntime":
        return ("no ClusterServingRuntime supports this model format. Install one with the kserve role "
                "(kserve_cluster_runtimes), or set model_format to a format that one supports.")
    if reason == "RuntimeNotRecognized":
        return "the runtime named does not exist. Fix the runtime field or leave it empty to let KServe choose."
    if "storage.objects.list" in message or "403" in message:
        return ("the predictor cannot read the bucket. Grant roles/storage.objectViewer on it to the Google service "
                "account of the predictor's ServiceAccount (gcs_model_readers), and check the Workload Identity "
                "binding (kserve_predictor_identity), or set service_account to the ServiceAccount the kserve role "
                "made.")
    if "getAccessToken" in message:
        return ("Workload Identity: the predictor's ServiceAccount may not act as its Google service account. Run the "
                "kserve role (it adds roles/iam.workloadIdentityUser), or fix the iam.gke.io/gcp-service-account "
                "annotation.")
    if "No model found" in message or "does not exist" in message:
        return "nothing is at storage_uri. Run the gcs_model role, or point storage_uri at the model's folder."
    for pod in pods or []:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("reason") == "Unschedulable" and "nvidia.com/gpu" in cond.get("message", ""):
                return ("no node has a free GPU (Insufficient nvidia.com/gpu): lower gpus, add GPU nodes "
                        "(gke_cluster_gpu_node_count), or check the drivers with the nvidia_driver role.")
            if cond.get("reason") == "Unschedulable":
                return "the predictor Pod cannot be scheduled: %s" % cond.get("message", "")
    return ""
