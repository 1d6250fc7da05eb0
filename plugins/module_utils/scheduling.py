# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why Deployments are not Available, as pure functions over the Deployments, Pods and Nodes read.

The case worth naming is a Pod the scheduler cannot place for lack of CPU or memory: net-istio's istio.yaml
asks 4.5 CPU of a system pool that has 3.9, and a wait would otherwise end in a bare timeout. The report
names the Pod, what it asks for, what each node it may run on has free, and the fix the caller gives.
"""

from __future__ import annotations

try:
    from kubernetes.utils.quantity import parse_quantity
except ImportError:  # the kubernetes.core modules on the same controller need it too
    parse_quantity = None

GIB = 2 ** 30


def _quantity(value):
    if parse_quantity is None:
        raise ImportError("reading resource quantities needs the kubernetes Python client on the controller "
                          "(pip install kubernetes), as kubernetes.core does")
    return float(parse_quantity(value)) if value not in (None, "") else 0.0


def pod_requests(spec):
    """(cores, bytes) the scheduler counts for a Pod spec: its containers' sum, or its largest init container
    if larger (a limit without a request counts as the request)."""
    def asked(container):
        resources = container.get("resources") or {}
        wanted = dict(resources.get("limits") or {}, **(resources.get("requests") or {}))
        return _quantity(wanted.get("cpu")), _quantity(wanted.get("memory"))
    containers = [asked(c) for c in spec.get("containers") or []]
    inits = [asked(c) for c in spec.get("initContainers") or []]
    return (max([sum(c[0] for c in containers)] + [c[0] for c in inits]),
            max([sum(c[1] for c in containers)] + [c[1] for c in inits]))


def may_run_on(spec, node):
    """Whether a Pod's nodeSelector matches the node and it tolerates the node's NoSchedule/NoExecute taints."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(key) != value for key, value in (spec.get("nodeSelector") or {}).items()):
        return False
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(t.get("operator") == "Exists" and t.get("key") in (None, "", taint.get("key"))
                   or (t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""))
                   for t in spec.get("tolerations") or [] if t.get("effect") in (None, "", taint.get("effect"))):
            return False
    return True


def node_free(node, pods):
    """(cores, bytes, allocatable cores, allocatable bytes) of a node, less what the Pods placed on it ask for."""
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    cpu, memory = _quantity(allocatable.get("cpu")), _quantity(allocatable.get("memory"))
    name = (node.get("metadata") or {}).get("name")
    used = [pod_requests(p.get("spec") or {}) for p in pods
            if (p.get("spec") or {}).get("nodeName") == name
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    return cpu - sum(u[0] for u in used), memory - sum(u[1] for u in used), cpu, memory


def _cpu(cores):
    return ("%.2f" % cores).rstrip("0").rstrip(".") + " CPU"


def _gib(num_bytes):
    return ("%.1f" % (num_bytes / GIB)).rstrip("0").rstrip(".") + " GiB"


def short_of_resources(pod):
    """The scheduler's message for a Pod left Pending for lack of CPU or memory, else None."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        message = cond.get("message") or ""
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False" and (
                "Insufficient cpu" in message or "Insufficient memory" in message):
            return message
    return None


def _owner(pod):
    meta = pod.get("metadata") or {}
    refs = meta.get("ownerReferences") or [{}]
    return meta.get("namespace"), refs[0].get("name") or meta.get("name")


def pending_report(pending, pods, nodes, fix):
    """One sentence per workload whose Pods (of `pending`) wait for CPU or memory: the Pod, what it asks for, the
    scheduler's words, what the nodes it may run on have free (less what all `pods` ask for), and `fix`."""
    lines, seen = [], {}
    for pod in pending or []:
        message = short_of_resources(pod)
        if not message:
            continue
        owner = _owner(pod)
        seen[owner] = seen.get(owner, 0) + 1
        if seen[owner] > 1:
            continue
        spec = pod.get("spec") or {}
        cpu, memory = pod_requests(spec)
        frees = ["%s: %s of %s, %s of %s" % (n["metadata"]["name"], _cpu(free[0]), _cpu(free[2]), _gib(free[1]),
                                             _gib(free[3]))
                 for n in nodes or [] if may_run_on(spec, n) for free in [node_free(n, pods)]]
        lines.append([owner, "Pod %s/%s is Pending: it asks for %s and %s of memory, and no node it may run on has "
                             "that free (%s). Free on the nodes it may run on: %s." % (
                                 pod["metadata"]["namespace"], pod["metadata"]["name"], _cpu(cpu), _gib(memory),
                                 message.split(" preemption:")[0].rstrip("."), "; ".join(frees) or "none")])
    text = []
    for owner, line in lines:
        more = seen[owner] - 1
        text.append(line + (" %d more Pod(s) of %s wait the same way." % (more, owner[1]) if more else ""))
    if text:
        text.append("Fix: %s." % fix.rstrip("."))
    return text
