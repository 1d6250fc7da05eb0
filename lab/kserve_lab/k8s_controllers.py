# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a cluster's controllers, scheduler and kubelets do, simulated, so that
readiness takes time and fails where it fails on GKE.

- Deployments, StatefulSets and DaemonSets get Pods from their templates and
  report replicas, readiness and the Available / Progressing conditions.
- Jobs run their Pods to completion (Complete, SuccessCriteriaMet).
- The scheduler places a Pod on a Node that matches its nodeSelector and
  required node affinity, whose taints it tolerates, and that has the CPU,
  memory and nvidia.com/gpu it requests free (allocatable minus what the Pods
  already there request), preferring the least allocated node; otherwise the
  Pod stays Pending with kube-scheduler's "0/N nodes are available: 1
  Insufficient cpu, ..." message and a FailedScheduling event.
- HorizontalPodAutoscalers hold their target at minReplicas (the lab has no
  load), as an idle cluster's autoscaler does; a target scaled to zero by hand
  is left alone.
- Kubelets start Pods after a delay; Pods with restartPolicy Never or OnFailure
  run to Succeeded. A container whose binary exits at start (STARTUP_CHECKS:
  Knative's version check) is restarted with back-off: CrashLoopBackOff, its
  last log line in `kubectl logs`, BackOff events. Logs: a Pod whose command
  runs nvidia-smi on a GPU gets nvidia-smi's table for the node's GPU.
- Endpoints follow the ready Pods behind each Service; a LoadBalancer Service
  gets an address of the cluster's own block of 127.0.0.0/8 after a delay, and
  so does an Ingress that GKE's own Ingress controller serves (gke_ingress.py).
- Admission webhooks: a request matching a webhook whose Service has no ready
  endpoints fails as the API server fails it (failurePolicy Fail), or passes
  (Ignore). The webhooks' own logic is not run.
- Deleting an owner deletes what it owns.
- KServe's controller, webhook, storage initializer and ingress: serving.py.

Delays are real figures scaled by the lab's latency knob. Work runs on one
thread per cluster; store hooks only queue it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import heapq
import itertools
import json
import threading
import time
import traceback
import uuid
import zlib

from cryptography.hazmat.primitives import serialization

from . import gke_ingress, pki
from .kubelet import (CRASH_BACKOFF, CRASH_BACKOFF_MAX, GPU_POD_START, NEEDS, POD_START, gpu_request, nvidia_smi,
                      pod_ready, startup_exit, workload_of)
from .load_balancers import can_listen
from .k8s_quantity import millicores, parse, pod_requests
from .k8s_store import K8sError, label_matcher, now_iso
from .serving import ISVC_LABEL, ClusterServing

# Real seconds before the latency scale.
LB_ADDRESS, CERT_MANAGER_DELAY, HPA_SYNC = 25, 3, 15
CERT_MANAGER_GROUP = "cert-manager.io"
KSERVE_GROUP, KSERVE_DELAY = "serving.kserve.io", 1
WORKLOADS = ("deployments", "statefulsets", "daemonsets", "jobs")


def cert_not_after(days=90):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def selector_string(selector):
    """A LabelSelector object as a labelSelector string."""
    parts = ["%s=%s" % kv for kv in sorted(((selector or {}).get("matchLabels") or {}).items())]
    for expr in (selector or {}).get("matchExpressions") or []:
        op, key, values = expr["operator"], expr["key"], expr.get("values") or []
        parts.append({"In": "%s in (%s)", "NotIn": "%s notin (%s)"}.get(op, "%s") % (
            (key, ",".join(values)) if op in ("In", "NotIn") else key) if op != "DoesNotExist" else "!" + key)
    return ",".join(parts)


def matches_selector(selector, labels):
    return label_matcher(selector_string(selector))({"metadata": {"labels": labels}})


def node_affinity_ok(pod_spec, node):
    required = ((((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms"))
    if not required:
        return True
    return any(matches_selector({"matchExpressions": term.get("matchExpressions") or []}, _labels(node))
               for term in required)


def tolerates(pod_spec, taint):
    for toleration in pod_spec.get("tolerations") or []:
        if toleration.get("effect") and toleration["effect"] != taint["effect"]:
            continue
        if toleration.get("operator") == "Exists" and (not toleration.get("key") or toleration["key"] == taint["key"]):
            return True
        if toleration.get("key") == taint["key"] and toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


def runs_to_completion(pod_spec):
    return pod_spec.get("restartPolicy") in ("Never", "OnFailure")


def pod_status(pod, node, done, ready):
    """A started Pod's status as its kubelet reports it: running (ready or not yet), or run to completion."""
    stamp = now_iso()
    state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": stamp, "finishedAt": stamp}} \
        if done else {"running": {"startedAt": stamp}}
    ip = "10.%d.%d.%d" % tuple(int(h, 16) % 250 + 2 for h in (uuid.uuid4().hex[:2], uuid.uuid4().hex[2:4],
                                                              uuid.uuid4().hex[4:6]))
    not_ready = {"reason": "PodCompleted" if done else "ContainersNotReady"}
    return {
        "phase": "Succeeded" if done else "Running",
        "hostIP": "10.128.0.%d" % (zlib.crc32(node["metadata"]["name"].encode()) % 250 + 2),
        "podIP": ip, "podIPs": [{"ip": ip}], "startTime": stamp, "qosClass": "BestEffort",
        "conditions": [{"type": t, "status": "False" if not ready and t in ("Ready", "ContainersReady") else "True",
                        "lastTransitionTime": stamp, **(not_ready if not ready and t in (
                            "Ready", "ContainersReady") else {})}
                       for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
        "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "ready": ready,
                               "started": not done, "restartCount": 0, "state": state,
                               "imageID": "", "containerID": "containerd://" + uuid.uuid4().hex}
                              for c in pod["spec"].get("containers") or []]}


class Controllers:
    """The simulated control plane and kubelets of one cluster."""

    def __init__(self, store, knobs, on_driver_ready=None, platform=None, key=("", "", ""), cluster=None,
                 address_block="127.0.1."):
        self.store = store
        self.knobs = knobs
        self.address_block = address_block  # load balancer addresses are address_block + 10, 11, ...
        self.on_driver_ready = on_driver_ready
        self.queue, self.seq = [], itertools.count()
        self.cv = threading.Condition()
        self.stopped = False
        self.lb_pending = set()
        self.waiting_for_secrets = set()  # (namespace, pod) the kubelet holds until a secret exists
        self.crashes = {}  # (namespace, pod) -> (how often its container exited, when it last started)
        self.res = {plural: store.find(group, "v1", plural) for group, plural in (
            ("", "pods"), ("", "services"), ("", "endpoints"), ("", "nodes"), ("", "events"), ("", "namespaces"),
            ("", "secrets"),
            ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("batch", "jobs"),
            ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
            ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"))}
        self.res["horizontalpodautoscalers"] = store.find("autoscaling", "v2", "horizontalpodautoscalers")
        self.res["ingresses"] = store.find("networking.k8s.io", "v1", "ingresses")
        store.hooks.append(self.on_event)
        store.admission.append(self.admit)
        self.serving = ClusterServing(self, platform, key, cluster or {})
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    # --- queue --------------------------------------------------------------
    def later(self, seconds, kind, namespace, name):
        with self.cv:
            heapq.heappush(self.queue, (time.monotonic() + self.knobs.duration(seconds), next(self.seq),
                                        kind, namespace, name))
            self.cv.notify()

    def resync(self):
        """Look at everything once (after a lab restart, objects come back without events)."""
        for plural in WORKLOADS:
            for obj in self.store.list(self.res[plural])["items"]:
                self.later(0, plural[:-1], obj["metadata"]["namespace"], obj["metadata"]["name"])
        self.later(0, "nodes_changed", None, "")
        for svc in self.store.list(self.res["services"])["items"]:
            self.later(0, "service", svc["metadata"]["namespace"], svc["metadata"]["name"])
        for ingress in self.store.list(self.res["ingresses"])["items"]:
            self.later(0, "ingress", ingress["metadata"]["namespace"], ingress["metadata"]["name"])
        for pod in self.store.list(self.res["pods"])["items"]:  # predictors get their model servers back
            if pod["spec"].get("nodeName") and self.serving.handles(pod):
                self.later(0, "kubelet", pod["metadata"]["namespace"], pod["metadata"]["name"])

    def stop(self):
        with self.cv:
            self.stopped = True
            self.cv.notify()
        self.serving.stop()

    def run(self):
        while True:
            with self.cv:
                while not self.stopped and (not self.queue or self.queue[0][0] > time.monotonic()):
                    self.cv.wait(None if not self.queue else max(0.0, self.queue[0][0] - time.monotonic()))
                if self.stopped:
                    return
                _due, _seq, kind, namespace, name = heapq.heappop(self.queue)
            try:
                getattr(self, "reconcile_" + kind)(namespace, name)
            except K8sError as exc:
                if exc.code != 404:
                    self.later(2, kind, namespace, name)  # e.g. a webhook refused us: try again, as controllers do
            except Exception:  # pylint: disable=broad-except
                traceback.print_exc()  # to the lab's log; the next event retries

    def on_event(self, event, res, obj):
        """Store hook, called under the store lock: only queue work."""
        meta = obj["metadata"]
        ns, name = meta.get("namespace"), meta["name"]
        if res.plural in WORKLOADS and res.group in ("apps", "batch"):
            if event == "DELETED":
                self.later(0, "orphans", ns, meta["uid"])
            elif not (obj.get("status") or {}).get("observedGeneration") == meta.get("generation"):
                self.later(0, res.plural[:-1], ns, name)
            if event == "ADDED" and res.plural in ("deployments", "statefulsets"):
                self.later(0, "autoscalers_of", ns, name)
        elif res.plural == "horizontalpodautoscalers" and event != "DELETED":
            self.later(0, "hpa", ns, name)
        elif res.plural == "pods" and not res.group:
            for ref in meta.get("ownerReferences") or []:
                kind = ref.get("kind", "").lower()
                if kind + "s" in WORKLOADS:
                    self.later(0, kind, ns, ref["name"])
            if event != "DELETED" and not (obj.get("spec") or {}).get("nodeName"):
                self.later(0, "schedule", ns, name)
            elif event == "ADDED":  # placed by its DaemonSet: straight to the kubelet
                self.later(POD_START, "kubelet", ns, name)
            self.later(0, "endpoints_in", ns, "")
            if _labels(obj).get(ISVC_LABEL):
                self.later(0, "inferenceservice", ns, _labels(obj)[ISVC_LABEL])
            if event == "DELETED" and self.serving.handles(obj):
                self.later(0, "pod_gone", ns, name)
            if event == "DELETED" and (obj.get("spec") or {}).get("nodeName"):  # room freed: retry the Pending
                self.later(0, "pending", None, "")
                self.crashes.pop((ns, name), None)
        elif res.plural == "services" and not res.group and event != "DELETED":
            self.later(0, "service", ns, name)
        elif res.plural == "ingresses" and res.group == "networking.k8s.io" and event != "DELETED":
            self.later(LB_ADDRESS if event == "ADDED" else 0, "ingress", ns, name)
        elif res.plural == "nodes" and not res.group:
            self.later(0, "nodes_changed", None, name)
        elif res.plural == "secrets" and not res.group and event != "DELETED":
            for waiting_ns, pod in list(self.waiting_for_secrets):
                if waiting_ns == ns:
                    self.later(0, "kubelet", ns, pod)
        elif res.group == CERT_MANAGER_GROUP and event != "DELETED":
            self.later(CERT_MANAGER_DELAY, "cert_manager", ns, "%s/%s" % (res.plural, name))
        if res.plural == "deployments" and ns == "cert-manager" and name == "cert-manager" and event != "DELETED":
            self.later(0, "cert_manager_all", None, "")
        if res.group == KSERVE_GROUP and res.plural == "inferenceservices" and event != "DELETED":
            self.later(KSERVE_DELAY, "inferenceservice", ns, name)
        if res.plural == "deployments" and ns == "kserve" and name == "kserve-controller-manager" or \
                res.group == KSERVE_GROUP and res.plural in ("servingruntimes", "clusterservingruntimes") or \
                res.plural == "configmaps" and (ns, name) in (("knative-serving", "config-domain"),
                                                              ("kserve", "inferenceservice-config")):
            self.later(0, "kserve_all", None, "")

    # --- workloads ------------------------------------------------------------
    def _owned_pods(self, owner):
        uid = owner["metadata"]["uid"]
        pods = self.store.list(self.res["pods"], owner["metadata"]["namespace"])["items"]
        return [p for p in pods if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]

    def _new_pod(self, owner, kind, name, extra_spec=None):
        template = (owner.get("spec") or {}).get("template") or {}
        meta = dict(template.get("metadata") or {})
        labels = dict(meta.get("labels") or {})
        labels["lab/template-hash"] = self._hash(template)
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "labels": labels, "annotations": dict(meta.get("annotations") or {}),
                            "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": kind,
                                                 "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                                 "controller": True, "blockOwnerDeletion": True}]},
               "spec": dict(template.get("spec") or {}, **(extra_spec or {}))}
        self.store.create(self.res["pods"], owner["metadata"]["namespace"], pod, "lab-controller")

    @staticmethod
    def _hash(template):
        return hashlib.sha1(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]

    def _workload(self, plural, ns, name):
        try:
            return self.store.get(self.res[plural], ns, name)
        except K8sError:
            return None

    def _set_status(self, plural, obj, status):
        if obj.get("status") != status:
            self.store.replace(self.res[plural], obj["metadata"].get("namespace"), obj["metadata"]["name"],
                               dict(obj, status=status), "lab-controller", status_only=True)

    def _replicated(self, plural, ns, name, kind):
        owner = self._workload(plural, ns, name)
        if owner is None or owner["metadata"].get("deletionTimestamp"):
            return None, []
        want = int((owner.get("spec") or {}).get("replicas", 1))
        current = self._hash((owner.get("spec") or {}).get("template") or {})
        pods = self._owned_pods(owner)
        for pod in pods:
            if _labels(pod).get("lab/template-hash") != current:
                self.store.delete(self.res["pods"], ns, pod["metadata"]["name"])
        pods = [p for p in pods if _labels(p).get("lab/template-hash") == current]
        for index in range(len(pods), want):
            pod_name = "%s-%d" % (name, index) if kind == "StatefulSet" else "%s-%s-%s" % (
                name, current[:9], uuid.uuid4().hex[:5])
            self._new_pod(owner, kind, pod_name)
        for pod in sorted(pods, key=lambda p: p["metadata"]["name"])[want:]:
            self.store.delete(self.res["pods"], ns, pod["metadata"]["name"])
        return owner, self._owned_pods(owner)

    def reconcile_deployment(self, ns, name):
        owner, pods = self._replicated("deployments", ns, name, "Deployment")
        if owner is None:
            return
        want = int((owner.get("spec") or {}).get("replicas", 1))
        ready = sum(1 for p in pods if pod_ready(p))
        stamp = now_iso()
        available = ready >= want
        self._set_status("deployments", owner, {
            "observedGeneration": owner["metadata"].get("generation", 1), "replicas": len(pods),
            "updatedReplicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
            **({"unavailableReplicas": want - ready} if want > ready else {}),
            "conditions": [
                {"type": "Available", "status": "True" if available else "False",
                 "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                 "message": "Deployment has minimum availability." if available else
                 "Deployment does not have minimum availability.", "lastTransitionTime": stamp,
                 "lastUpdateTime": stamp},
                {"type": "Progressing", "status": "True",
                 "reason": "NewReplicaSetAvailable" if available else "ReplicaSetUpdated",
                 "message": 'ReplicaSet "%s-%s" %s.' % (name, self._hash(owner["spec"].get("template") or {})[:9],
                                                        "has successfully progressed" if available
                                                        else "is progressing"),
                 "lastTransitionTime": stamp, "lastUpdateTime": stamp}]})

    def reconcile_statefulset(self, ns, name):
        owner, pods = self._replicated("statefulsets", ns, name, "StatefulSet")
        if owner is None:
            return
        ready = sum(1 for p in pods if pod_ready(p))
        self._set_status("statefulsets", owner, {
            "observedGeneration": owner["metadata"].get("generation", 1), "replicas": len(pods),
            "readyReplicas": ready, "availableReplicas": ready, "currentReplicas": len(pods),
            "updatedReplicas": len(pods)})

    def reconcile_daemonset(self, ns, name):
        owner = self._workload("daemonsets", ns, name)
        if owner is None or owner["metadata"].get("deletionTimestamp"):
            return
        spec = ((owner.get("spec") or {}).get("template") or {}).get("spec") or {}
        current = self._hash((owner.get("spec") or {}).get("template") or {})
        nodes = [n for n in self.store.list(self.res["nodes"])["items"] if self._fits(spec, n, resources=False)[0]]
        wanted = {n["metadata"]["name"] for n in nodes}
        pods = self._owned_pods(owner)
        placed = set()
        for pod in pods:
            node = pod["spec"].get("nodeName") or (pod["spec"].get("nodeSelector") or {}).get("kubernetes.io/hostname")
            if node not in wanted or _labels(pod).get("lab/template-hash") != current or node in placed:
                self.store.delete(self.res["pods"], ns, pod["metadata"]["name"])
            else:
                placed.add(node)
        for node in sorted(wanted - placed):
            self._new_pod(owner, "DaemonSet", "%s-%s" % (name, uuid.uuid4().hex[:5]), {"nodeName": node})
        pods = self._owned_pods(owner)
        ready = sum(1 for p in pods if pod_ready(p))
        self._set_status("daemonsets", owner, {
            "observedGeneration": owner["metadata"].get("generation", 1), "desiredNumberScheduled": len(wanted),
            "currentNumberScheduled": len(pods), "updatedNumberScheduled": len(pods), "numberReady": ready,
            "numberAvailable": ready, "numberMisscheduled": 0,
            **({"numberUnavailable": len(wanted) - ready} if len(wanted) > ready else {})})

    def reconcile_job(self, ns, name):
        owner = self._workload("jobs", ns, name)
        if owner is None or owner["metadata"].get("deletionTimestamp"):
            return
        spec = owner.get("spec") or {}
        completions = int(spec.get("completions", 1))
        pods = self._owned_pods(owner)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        missing = completions - succeeded - len(active)
        for _index in range(max(0, min(missing, int(spec.get("parallelism", 1)) - len(active)))):
            self._new_pod(owner, "Job", "%s-%s" % (name, uuid.uuid4().hex[:5]))
        active = [p for p in self._owned_pods(owner) if (p.get("status") or {}).get("phase") not in (
            "Succeeded", "Failed")]
        status = dict(owner.get("status") or {})
        status.setdefault("startTime", now_iso())
        status.update(active=len(active), succeeded=succeeded, ready=0,
                      terminating=0, uncountedTerminatedPods={})
        if succeeded >= completions and not status.get("completionTime"):
            stamp = now_iso()
            status.update(completionTime=stamp, active=0, conditions=[
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": stamp,
                 "lastTransitionTime": stamp},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": stamp,
                 "lastTransitionTime": stamp}])
        self._set_status("jobs", owner, status)

    def reconcile_orphans(self, ns, uid):
        """Garbage collection: what an owner that is gone owned goes too."""
        for pod in self.store.list(self.res["pods"], ns)["items"]:
            if any(r.get("uid") == uid for r in pod["metadata"].get("ownerReferences") or []):
                self.store.delete(self.res["pods"], ns, pod["metadata"]["name"])

    # --- scheduler and kubelet -----------------------------------------------
    def _in_use(self, node_name, skip):
        """(millicores, bytes, GPUs) the Pods on a node request, but for `skip` and finished ones."""
        used = [0, 0, 0]
        for pod in self.store.list(self.res["pods"], field_selector="spec.nodeName=%s" % node_name)["items"]:
            finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if pod["metadata"]["name"] != skip and not finished:
                cpu, memory = pod_requests(pod["spec"])
                used = [used[0] + cpu, used[1] + memory, used[2] + gpu_request(pod["spec"])]
        return used

    def free(self, node, skip=None):
        """(millicores, bytes, GPUs) of a node's allocatable that no Pod on it requests."""
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        used = self._in_use(node["metadata"]["name"], skip)
        return (millicores(allocatable.get("cpu", "0")) - used[0], int(parse(allocatable.get("memory", "0"))) - used[1],
                int(allocatable.get("nvidia.com/gpu") or 0) - used[2])

    def _fits(self, spec, node, pod_name=None, resources=True):
        """(fits, reasons) for a pod spec on a node, in the scheduler's words: the first filter that fails
        (node selector and affinity, taints, then resources) gives its reasons, as kube-scheduler's do."""
        labels = _labels(node)
        if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()) or \
                not node_affinity_ok(spec, node):
            return False, ["node(s) didn't match Pod's node affinity/selector"]
        for taint in (node.get("spec") or {}).get("taints") or []:
            if taint["effect"] in ("NoSchedule", "NoExecute") and not tolerates(spec, taint):
                return False, ["node(s) had untolerated taint {%s: %s}" % (taint["key"], taint.get("value", ""))]
        if not resources:
            return True, []
        cpu, memory = pod_requests(spec)
        wanted = gpu_request(spec)
        free = self.free(node, pod_name)
        short = [name for name, want, have in (("cpu", cpu, free[0]), ("memory", memory, free[1]),
                                               ("nvidia.com/gpu", wanted, free[2])) if want and want > have]
        return not short, ["Insufficient %s" % name for name in short]

    def _event(self, ns, pod, reason, message, kind="Warning", involved="Pod", component=None):
        self.store.create(self.res["events"], ns, {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "%s.%s" % (pod["metadata"]["name"], uuid.uuid4().hex[:12])},
            "involvedObject": {"kind": involved, "namespace": ns, "name": pod["metadata"]["name"],
                               "uid": pod["metadata"]["uid"], "apiVersion": "v1"},
            "reason": reason, "message": message, "type": kind, "count": 1,
            "firstTimestamp": now_iso(), "lastTimestamp": now_iso(),
            "source": {"component": component or (
                "default-scheduler" if reason == "FailedScheduling" else "kubelet")}},
            "lab-controller")

    def reconcile_schedule(self, ns, name):
        try:
            pod = self.store.get(self.res["pods"], ns, name)
        except K8sError:
            return
        if pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return
        nodes = self.store.list(self.res["nodes"])["items"]
        reasons, fitting, short_of_resources = {}, [], 0
        for node in nodes:
            fits, why = self._fits(pod["spec"], node, pod_name=name)
            if fits:
                fitting.append(node)
            short_of_resources += bool(why) and why[0].startswith("Insufficient")
            for reason in why:
                reasons[reason] = reasons.get(reason, 0) + 1
        if fitting:  # the least allocated node (kube-scheduler's default score), by the share of CPU left
            node = max(fitting, key=lambda n: (self.free(n)[0] / max(1, millicores(
                ((n.get("status") or {}).get("allocatable") or {}).get("cpu", "1"))), n["metadata"]["name"]))
            pod["spec"]["nodeName"] = node["metadata"]["name"]
            self.store.replace(self.res["pods"], ns, name, pod, "default-scheduler")
            self.later(GPU_POD_START if gpu_request(pod["spec"]) else POD_START, "kubelet", ns, name)
            return
        preemption = ", ".join(part for part in (
            "%d No preemption victims found for incoming pod" % short_of_resources if short_of_resources else "",
            "%d Preemption is not helpful for scheduling" % (len(nodes) - short_of_resources)
            if len(nodes) > short_of_resources else "") if part)
        message = "0/%d nodes are available: %s. preemption: 0/%d nodes are available: %s." % (
            len(nodes), ", ".join("%d %s" % (n, r) for r, n in sorted(reasons.items())), len(nodes), preemption)
        status = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                                      "reason": "Unschedulable", "message": message}]}
        if pod.get("status") != status:
            self.store.replace(self.res["pods"], ns, name, dict(pod, status=status), "default-scheduler",
                               status_only=True)
            self._event(ns, pod, "FailedScheduling", message)

    def reconcile_pending(self, _ns, _name):
        for pod in self.store.list(self.res["pods"])["items"]:
            if not pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
                self.later(0, "schedule", pod["metadata"]["namespace"], pod["metadata"]["name"])

    # --- horizontal pod autoscalers -------------------------------------------------
    def reconcile_autoscalers_of(self, ns, name):
        """A workload appeared: the autoscalers that target it act on it."""
        for hpa in self.store.list(self.res["horizontalpodautoscalers"], ns)["items"]:
            if ((hpa.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name:
                self.later(0, "hpa", ns, hpa["metadata"]["name"])

    def reconcile_hpa(self, ns, name):
        """An idle cluster's autoscaler: the target runs minReplicas (at least 1), through its scale."""
        try:
            hpa = self.store.get(self.res["horizontalpodautoscalers"], ns, name)
        except K8sError:
            return
        spec = hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        plural = {"Deployment": "deployments", "StatefulSet": "statefulsets"}.get(ref.get("kind"))
        target = self._workload(plural, ns, ref.get("name", "")) if plural else None
        want = max(1, int(spec.get("minReplicas") or 1))
        status = {"currentReplicas": 0, "desiredReplicas": want}
        if target is not None:
            current = int((target.get("spec") or {}).get("replicas", 1))
            status["currentReplicas"] = current
            if current == 0:  # scaled to zero by hand: the autoscaler stands aside (ScalingDisabled), as upstream's
                status["desiredReplicas"] = 0
            elif current != want:
                self.store.patch(self.res[plural], ns, target["metadata"]["name"], "merge",
                                 {"spec": {"replicas": want}}, "horizontal-pod-autoscaler")
        if hpa.get("status") != status:
            self.store.replace(self.res["horizontalpodautoscalers"], ns, name, dict(hpa, status=status),
                               "horizontal-pod-autoscaler", status_only=True)
        self.later(HPA_SYNC, "hpa", ns, name)  # as the controller does: it looks again every 15 s

    def reconcile_nodes_changed(self, _ns, _name):
        for pod in self.store.list(self.res["pods"])["items"]:
            if not pod["spec"].get("nodeName"):
                self.later(0, "schedule", pod["metadata"]["namespace"], pod["metadata"]["name"])
        for ds in self.store.list(self.res["daemonsets"])["items"]:
            self.later(0, "daemonset", ds["metadata"]["namespace"], ds["metadata"]["name"])

    def reconcile_kubelet(self, ns, name):
        try:
            pod = self.store.get(self.res["pods"], ns, name)
        except K8sError:
            return
        node = self.store.get(self.res["nodes"], None, pod["spec"]["nodeName"])
        missing = [v["secret"]["secretName"] for v in pod["spec"].get("volumes") or []
                   if (v.get("secret") or {}).get("secretName") and not v["secret"].get("optional")
                   and ("", "secrets", ns, v["secret"]["secretName"]) not in self.store.objects]
        if missing:  # as the kubelet does: the pod stays ContainerCreating until its secrets exist
            if (ns, name) not in self.waiting_for_secrets:
                self.waiting_for_secrets.add((ns, name))
                self._event(ns, pod, "FailedMount", 'MountVolume.SetUp failed for volume "%s" : secret "%s" not '
                            'found' % (next(v["name"] for v in pod["spec"]["volumes"]
                                            if (v.get("secret") or {}).get("secretName") == missing[0]),
                                       missing[0]))
            return
        self.waiting_for_secrets.discard((ns, name))
        blocked = [svc for svc in NEEDS.get(workload_of(pod), ()) if not self._ready_endpoints(*svc)]
        if blocked:  # running, but its readiness probe fails until what it needs answers
            if not (pod.get("status") or {}).get("phase"):
                self._event(ns, pod, "Unhealthy", "Readiness probe failed: waiting for %s.%s" % (
                    blocked[0][1], blocked[0][0]))
                waiting = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False",
                                                               "reason": "ContainersNotReady"}]}
                self.store.replace(self.res["pods"], ns, name, dict(pod, status=waiting), "kubelet", status_only=True)
            self.later(2, "kubelet", ns, name)
            return
        exits = [(c["name"], found) for c in pod["spec"].get("containers") or []
                 for found in [startup_exit(pod, c, self.store.version)] if found]
        if exits:
            self._crash_loop(ns, pod, node, exits[0][0], *exits[0][1])
            return
        if self.serving.platform is not None and self.serving.handles(pod):
            self.serving.kubelet(ns, pod, node, lambda ready: pod_status(pod, node, False, ready))
            return
        done = runs_to_completion(pod["spec"])
        status = pod_status(pod, node, done, not done)
        self.store.replace(self.res["pods"], ns, name, dict(pod, status=status), "kubelet", status_only=True)
        command = " ".join(" ".join(c.get("command") or []) + " " + " ".join(c.get("args") or [])
                           for c in pod["spec"].get("containers") or [])
        if "nvidia-smi" in command and gpu_request(pod["spec"]):
            self.store.logs[(ns, name)] = nvidia_smi(node)
        if _labels(pod).get("k8s-app") == "nvidia-driver-installer" and self.on_driver_ready:
            self.on_driver_ready(node["metadata"]["name"])

    def _crash_loop(self, ns, pod, node, container, runs_for, line):
        """A container that exits at start: it runs `runs_for` seconds unready, exits with its last log line,
        and the kubelet restarts it with back-off (CrashLoopBackOff), as long as the Pod exists."""
        name = pod["metadata"]["name"]
        count, started = self.crashes.get((ns, name), (0, None))
        status = pod_status(pod, node, False, False)
        if runs_for and started is None:  # it starts, and runs a while before it exits
            self.crashes[(ns, name)] = (count, time.monotonic())
            self.store.replace(self.res["pods"], ns, name, dict(pod, status=status), "kubelet", status_only=True)
            self.later(runs_for, "kubelet", ns, name)
            return
        count += 1
        self.crashes[(ns, name)] = (count, None)
        stamp = now_iso()
        exited = {"exitCode": 1, "reason": "Error", "startedAt": stamp, "finishedAt": stamp,
                  "containerID": "containerd://" + uuid.uuid4().hex}
        backoff = min(CRASH_BACKOFF * 2 ** (count - 1), CRASH_BACKOFF_MAX)
        for cstatus in status["containerStatuses"]:
            if cstatus["name"] != container:
                continue
            cstatus.update(ready=False, started=False, restartCount=count - 1,
                           state={"terminated": exited} if count == 1 else {"waiting": {
                               "reason": "CrashLoopBackOff", "message": "back-off %ds restarting failed container=%s "
                               "pod=%s_%s(%s)" % (backoff, container, name, ns, pod["metadata"]["uid"])}})
            if count > 1:
                cstatus["lastState"] = {"terminated": exited}
        self.store.logs[(ns, name, container)] = line + "\n"
        self.store.replace(self.res["pods"], ns, name, dict(pod, status=status), "kubelet", status_only=True)
        if count > 1:
            self._event(ns, pod, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)" % (
                container, name, ns, pod["metadata"]["uid"]))
        self.later(backoff, "kubelet", ns, name)

    def _controller_running(self, ns, name):
        """Whether a controller's Deployment has a ready Pod: a component works while its Pod runs
        (Available alone is true at zero replicas)."""
        deploy = self.store.objects.get(("apps", "deployments", ns, name))
        return bool(deploy) and int((deploy.get("status") or {}).get("readyReplicas") or 0) > 0

    # --- cert-manager ----------------------------------------------------------
    def _cert_manager_ready(self):
        return self._controller_running("cert-manager", "cert-manager")

    def reconcile_cert_manager_all(self, _ns, _name):
        if not self._cert_manager_ready():
            return
        for plural in ("clusterissuers", "issuers", "certificates"):
            try:
                res = self.store.find(CERT_MANAGER_GROUP, "v1", plural)
            except K8sError:
                continue
            for obj in self.store.list(res)["items"]:
                self.later(0, "cert_manager", obj["metadata"].get("namespace"), "%s/%s" % (
                    plural, obj["metadata"]["name"]))

    def reconcile_cert_manager(self, ns, ref):
        """Issuers become Ready and Certificates get their Secret, once cert-manager's controller is available."""
        plural, name = ref.split("/", 1)
        if plural not in ("issuers", "clusterissuers", "certificates") or not self._cert_manager_ready():
            return
        res = self.store.find(CERT_MANAGER_GROUP, "v1", plural)
        obj = self.store.get(res, ns, name)
        stamp = now_iso()
        if plural != "certificates":
            self._set_condition(res, obj, "Ready", "True", "IsReady", "", stamp)
            for cert_res in self._maybe("certificates"):
                for cert in self.store.list(cert_res)["items"]:
                    self.later(0, "cert_manager", cert["metadata"]["namespace"],
                               "certificates/" + cert["metadata"]["name"])
            return
        issuer_ref = (obj.get("spec") or {}).get("issuerRef") or {}
        kind = issuer_ref.get("kind", "Issuer")
        issuer = self.store.objects.get((CERT_MANAGER_GROUP, "clusterissuers" if kind == "ClusterIssuer"
                                         else "issuers", "" if kind == "ClusterIssuer" else ns,
                                         issuer_ref.get("name", "")))
        issuer_ready = issuer and any(c.get("type") == "Ready" and c.get("status") == "True"
                                      for c in (issuer.get("status") or {}).get("conditions") or [])
        if not issuer_ready:
            self._set_condition(res, obj, "Ready", "False", "IssuerNotReady" if issuer else "IssuerNotFound",
                                'Issuer "%s" not %s' % (issuer_ref.get("name"), "ready" if issuer else "found"),
                                stamp)
            return
        secret_name = obj["spec"]["secretName"]
        if ("", "secrets", ns, secret_name) not in self.store.objects:
            names = list(obj["spec"].get("dnsNames") or []) or [obj["spec"].get("commonName") or name]
            ca_cert, ca_key = pki.make_ca(names[0])
            cert, key = pki.make_serving_cert(ca_cert, ca_key, "127.0.0.1")
            pem = serialization.Encoding.PEM
            self.store.create(self.res["secrets"], ns, {
                "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                "metadata": {"name": secret_name, "annotations": {
                    "cert-manager.io/certificate-name": name, "cert-manager.io/issuer-name": issuer_ref.get("name"),
                    "cert-manager.io/issuer-kind": kind}},
                "data": {"tls.crt": base64.b64encode(cert.public_bytes(pem)).decode(),
                         "tls.key": base64.b64encode(pki.key_pem(key)).decode(),
                         "ca.crt": base64.b64encode(ca_cert.public_bytes(pem)).decode()}}, "cert-manager")
        self._set_condition(res, obj, "Ready", "True", "Ready", "Certificate is up to date and has not expired",
                            stamp, notAfter=cert_not_after(), revision=1)

    # --- KServe -----------------------------------------------------------------
    def _kserve_ready(self):
        return self._controller_running("kserve", "kserve-controller-manager")

    def _isvc_resource(self):
        try:
            return self.store.find(KSERVE_GROUP, "v1beta1", "inferenceservices")
        except K8sError:
            return None

    def reconcile_kserve_all(self, _ns, _name):
        res = self._isvc_resource()
        if res is None or not self._kserve_ready():
            return
        for obj in self.store.list(res)["items"]:
            self.later(0, "inferenceservice", obj["metadata"]["namespace"], obj["metadata"]["name"])

    def reconcile_inferenceservice(self, ns, name):
        self.serving.reconcile(ns, name)

    def reconcile_model_probe(self, ns, name):
        self.serving.probe(ns, name)

    def reconcile_pod_gone(self, ns, name):
        self.serving.pod_gone(ns, name)

    def _maybe(self, plural):
        try:
            return [self.store.find(CERT_MANAGER_GROUP, "v1", plural)]
        except K8sError:
            return []

    def _set_condition(self, res, obj, kind, status, reason, message, stamp, **extra):
        current = [c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind]
        if current and (current[0].get("status"), current[0].get("reason")) == (status, reason):
            return
        new = dict(obj.get("status") or {}, conditions=[{
            "type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": stamp,
            "observedGeneration": obj["metadata"].get("generation", 1)}], **extra)
        self.store.replace(res, obj["metadata"].get("namespace"), obj["metadata"]["name"], dict(obj, status=new),
                           "cert-manager", status_only=True)

    # --- services -------------------------------------------------------------
    def reconcile_endpoints_in(self, ns, _name):
        for svc in self.store.list(self.res["services"], ns)["items"]:
            self.reconcile_service(ns, svc["metadata"]["name"], svc)

    def reconcile_service(self, ns, name, svc=None):
        if svc is None:
            try:
                svc = self.store.get(self.res["services"], ns, name)
            except K8sError:
                return
        spec = svc.get("spec") or {}
        if spec.get("selector"):
            selector = ",".join("%s=%s" % kv for kv in sorted(spec["selector"].items()))
            pods = [p for p in self.store.list(self.res["pods"], ns, selector)["items"] if pod_ready(p)]
            ports = [{"name": p.get("name", ""), "port": int(p.get("targetPort") or p["port"])
                      if str(p.get("targetPort", p["port"])).isdigit() else int(p["port"]),
                      "protocol": p.get("protocol", "TCP")} for p in spec.get("ports") or []]
            subsets = [{"addresses": [{"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"],
                                       "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                                     "uid": p["metadata"]["uid"]}} for p in pods],
                        "ports": ports}] if pods else []
            endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                         "metadata": {"name": name, "namespace": ns, "labels": _labels(svc)}, "subsets": subsets}
            try:
                current = self.store.get(self.res["endpoints"], ns, name)
                if current.get("subsets", []) != subsets:
                    self.store.replace(self.res["endpoints"], ns, name, dict(current, subsets=subsets),
                                       "endpoint-controller")
            except K8sError:
                self.store.create(self.res["endpoints"], ns, endpoints, "endpoint-controller")
        has_address = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        if has_address and self.serving.platform is not None:
            self.serving.gateway_address(svc)
        if spec.get("type") == "LoadBalancer" and not has_address and (ns, name) not in self.lb_pending:
            self.lb_pending.add((ns, name))
            self.later(LB_ADDRESS, "load_balancer", ns, name)

    def _free_address(self):
        """The first address of this cluster's block that no Service or Ingress of it holds (across restarts) and
        that nothing else on the machine listens on at port 80; None when there is none."""
        held = {entry.get("ip") for res in (self.res["services"], self.res["ingresses"])
                for obj in self.store.list(res)["items"]
                for entry in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []}
        return next((self.address_block + str(n) for n in range(10, 255)
                     if self.address_block + str(n) not in held and can_listen(self.address_block + str(n))), None)

    def _no_address(self, ns, obj, kind):
        """What GKE's service controller does when it cannot make a load balancer: the Service stays pending, with
        a Warning event saying why, and the controller tries again later."""
        self._event(ns, obj, "SyncLoadBalancerFailed", "Error syncing load balancer: failed to ensure load balancer: "
                    "no address of %s10-254 is free (each is held by this cluster or listened on by another "
                    "process on this machine)" % self.address_block, involved=kind, component="service-controller")
        self.later(LB_ADDRESS * 4, "load_balancer" if kind == "Service" else "ingress", ns, obj["metadata"]["name"])

    def reconcile_ingress(self, ns, name):
        """GKE's Ingress controller: an Ingress it serves gets a load balancer address, and the load balancer
        routes to the backend Pods that pass its health check (gke_ingress.py); others are left alone."""
        try:
            ingress = self.store.get(self.res["ingresses"], ns, name)
        except K8sError:
            return
        if not gke_ingress.serves(ingress):
            return
        if not ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            address = self._free_address()
            if address is None:
                self._no_address(ns, ingress, "Ingress")
                return
            status = {"loadBalancer": {"ingress": [{"ip": address}]}}
            ingress = self.store.replace(self.res["ingresses"], ns, name, dict(ingress, status=status),
                                         "glbc", status_only=True)[0]
        if self.serving.platform is not None:
            self.serving.ingress_address(ingress)

    def reconcile_load_balancer(self, ns, name):
        try:
            svc = self.store.get(self.res["services"], ns, name)
        except K8sError:
            return
        self.lb_pending.discard((ns, name))
        if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return
        address = self._free_address()
        if address is None:
            self._no_address(ns, svc, "Service")
            return
        status = dict(svc.get("status") or {}, loadBalancer={"ingress": [{"ip": address, "ipMode": "VIP"}]})
        self.store.replace(self.res["services"], ns, name, dict(svc, status=status), "service-controller",
                           status_only=True)

    # --- admission --------------------------------------------------------------
    def _ready_endpoints(self, ns, name):
        ep = self.store.objects.get(("", "endpoints", ns, name))
        return bool(ep and any(s.get("addresses") for s in ep.get("subsets") or []))

    @staticmethod
    def _rule_matches(rule, operation, res):
        def has(values, value):
            return "*" in (values or []) or value in (values or [])
        resources = [r.split("/")[0] for r in rule.get("resources") or []]
        return (has(rule.get("operations"), operation) and has(rule.get("apiGroups"), res.group)
                and has(rule.get("apiVersions"), res.version) and ("*" in resources or res.plural in resources))

    def admit(self, operation, res, obj, _old):
        """Admission webhooks, as far as reachability goes (called under the store lock)."""
        if res.group == "admissionregistration.k8s.io":
            return
        ns = (obj.get("metadata") or {}).get("namespace")
        ns_labels = _labels(self.store.objects.get(("", "namespaces", "", ns)) or {}) if ns else {}
        if ns:
            ns_labels = dict(ns_labels, **{"kubernetes.io/metadata.name": ns})
        for plural in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
            for (group, kind, _ns, _name), config in list(self.store.objects.items()):
                if group != "admissionregistration.k8s.io" or kind != plural:
                    continue
                for hook in config.get("webhooks") or []:
                    if not any(self._rule_matches(r, operation, res) for r in hook.get("rules") or []):
                        continue
                    selector = hook.get("namespaceSelector")
                    if ns and selector and not matches_selector(selector, ns_labels):
                        continue
                    if hook.get("objectSelector") and not matches_selector(hook["objectSelector"], _labels(obj)):
                        continue
                    service = (hook.get("clientConfig") or {}).get("service")
                    if not service or self._ready_endpoints(service["namespace"], service["name"]):
                        continue
                    if hook.get("failurePolicy", "Fail") == "Ignore":
                        continue
                    raise K8sError(500, "InternalError", 'Internal error occurred: failed calling webhook "%s": '
                                   'failed to call webhook: Post "https://%s.%s.svc:%d%s?timeout=%ds": no endpoints '
                                   'available for service "%s"' % (
                                       hook["name"], service["name"], service["namespace"],
                                       int(service.get("port", 443)), service.get("path", "/"),
                                       int(hook.get("timeoutSeconds", 10)), service["name"]))
