# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a GKE Standard node offers to Pods, and what GKE runs on it before any of ours.

- Capacity by Compute Engine machine type; allocatable is capacity minus GKE's reservations, by the rules
  GKE documents (docs/concepts/plan-node-sizes): CPU 6 % of the first core, 1 % of the next, 0.5 % of the
  next two and 0.25 % above four; memory 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8,
  6 % of the next 112 and 2 % above 128, plus a 100 MiB eviction threshold (255 MiB under 1 GiB).
  Shared-core e2-medium gets the 940m GKE gives it. An e2-standard-4 so has 3920m and about 13.3 GiB.
- GKE's own workloads in kube-system, with requests of the size GKE's add-ons ask for: per node
  (fluentbit, the metrics agent, kube-proxy, the persistent-disk CSI node, on GPU nodes GKE's device plugin),
  and per cluster (kube-dns with two replicas, its autoscaler, konnectivity, metrics-server and the default
  HTTP backend). They tolerate what GKE's tolerate, so the per-cluster ones land on the system pool.

Not reproduced: the exact figures of each GKE release's add-ons (they move between releases; these are of
the right size), node-local DNS, Dataplane V2's anetd, and the add-ons' autoscaling with cluster size.
"""

from __future__ import annotations

import re

from .k8s_quantity import format_cpu, format_memory

GIB = 2 ** 30
# machine type -> (vCPUs, memory in GiB)
MACHINES = {
    "e2-medium": (2, 4), "e2-standard-2": (2, 8), "e2-standard-4": (4, 16), "e2-standard-8": (8, 32),
    "e2-standard-16": (16, 64), "n1-standard-2": (2, 7.5), "n1-standard-4": (4, 15), "n1-standard-8": (8, 30),
    "n1-standard-16": (16, 60), "n2-standard-4": (4, 16), "n2-standard-8": (8, 32), "g2-standard-4": (4, 16),
    "g2-standard-8": (8, 32), "g2-standard-12": (12, 48), "g2-standard-16": (16, 64), "a2-highgpu-1g": (12, 85),
}
SHARED_CORE_CPU = {"e2-medium": 940}  # millicores GKE leaves to Pods on shared-core machines


def machine(machine_type):
    """(vCPUs, GiB) of a machine type; an unlisted *-standard-N is taken as N vCPUs with 4 GiB each."""
    if machine_type in MACHINES:
        return MACHINES[machine_type]
    found = re.search(r"-(?:standard|highcpu|highmem)-(\d+)$", machine_type or "")
    cpus = int(found.group(1)) if found else 4
    return cpus, cpus * 4


def _tiered(amount, tiers):
    reserved, left = 0.0, amount
    for size, share in tiers:
        part = min(left, size)
        reserved += part * share
        left -= part
        if left <= 0:
            break
    return reserved


def reserved_cpu(cpus):
    """Millicores GKE reserves for the system on a node with `cpus` cores."""
    return int(round(_tiered(cpus * 1000.0, ((1000, 0.06), (1000, 0.01), (2000, 0.005), (float("inf"), 0.0025)))))


def reserved_memory(num_bytes):
    """Bytes GKE reserves (eviction threshold included) on a node with `num_bytes` of memory."""
    if num_bytes < GIB:
        return 255 * 2 ** 20
    return int(_tiered(float(num_bytes), ((4 * GIB, 0.25), (4 * GIB, 0.2), (8 * GIB, 0.1), (112 * GIB, 0.06),
                                          (float("inf"), 0.02)))) + 100 * 2 ** 20


def resources(machine_type):
    """(capacity, allocatable) of a node of that machine type, as its kubelet reports them."""
    cpus, gib = machine(machine_type)
    memory = int(gib * GIB)
    cpu_free = SHARED_CORE_CPU.get(machine_type, cpus * 1000 - reserved_cpu(cpus))
    capacity = {"cpu": str(cpus), "memory": format_memory(memory), "pods": "110"}
    allocatable = {"cpu": format_cpu(cpu_free), "memory": format_memory(memory - reserved_memory(memory)),
                   "pods": "110"}
    return capacity, allocatable


# --- GKE's own workloads -------------------------------------------------------------------------
_EVERYWHERE = [{"operator": "Exists"}]  # GKE's node agents tolerate every taint
_CRITICAL = [{"key": "CriticalAddonsOnly", "operator": "Exists"},
             {"key": "components.gke.io/gke-managed-components", "operator": "Exists"}]


def _workload(kind, name, containers, replicas=None, tolerations=None, affinity=None):
    labels = {"k8s-app": name}
    spec = {"priorityClassName": "system-node-critical" if kind == "DaemonSet" else "system-cluster-critical",
            "tolerations": tolerations or [],
            "containers": [{"name": c, "image": "gke.gcr.io/%s" % c,
                            "resources": {"requests": {"cpu": cpu, "memory": memory}}}
                           for c, cpu, memory in containers]}
    if affinity:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": affinity}]}}}
    obj = {"apiVersion": "apps/v1", "kind": kind,
           "metadata": {"name": name, "namespace": "kube-system",
                        "labels": dict(labels, **{"addonmanager.kubernetes.io/mode": "Reconcile"})},
           "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}}}
    if replicas is not None:
        obj["spec"]["replicas"] = replicas
    return obj


def system_workloads():
    """The kube-system DaemonSets and Deployments GKE runs on a new Standard cluster."""
    gpu = [{"key": "cloud.google.com/gke-accelerator", "operator": "Exists"}]
    return [
        _workload("DaemonSet", "fluentbit-gke", [("fluentbit", "50m", "100Mi"), ("fluentbit-gke", "50m", "100Mi")],
                  tolerations=_EVERYWHERE),
        _workload("DaemonSet", "gke-metrics-agent", [("gke-metrics-agent", "8m", "60Mi")], tolerations=_EVERYWHERE),
        _workload("DaemonSet", "kube-proxy", [("kube-proxy", "100m", "20Mi")], tolerations=_EVERYWHERE),
        _workload("DaemonSet", "pdcsi-node", [("csi-driver-registrar", "5m", "10Mi"), ("gce-pd-driver", "5m", "10Mi")],
                  tolerations=_EVERYWHERE),
        _workload("DaemonSet", "nvidia-gpu-device-plugin-small-cos", [("nvidia-gpu-device-plugin", "50m", "20Mi")],
                  tolerations=_EVERYWHERE, affinity=gpu),
        _workload("Deployment", "kube-dns", [("kubedns", "100m", "70Mi"), ("dnsmasq", "150m", "20Mi"),
                                             ("sidecar", "10m", "20Mi")], replicas=2, tolerations=_CRITICAL),
        _workload("Deployment", "kube-dns-autoscaler", [("autoscaler", "20m", "10Mi")], replicas=1,
                  tolerations=_CRITICAL),
        _workload("Deployment", "konnectivity-agent", [("konnectivity-agent", "10m", "30Mi")], replicas=1,
                  tolerations=_CRITICAL),
        _workload("Deployment", "metrics-server-v1.33.0", [("metrics-server", "43m", "55Mi"),
                                                           ("metrics-server-nanny", "5m", "50Mi")], replicas=1,
                  tolerations=_CRITICAL),
        _workload("Deployment", "l7-default-backend", [("default-http-backend", "10m", "20Mi")], replicas=1,
                  tolerations=_CRITICAL),
    ]
