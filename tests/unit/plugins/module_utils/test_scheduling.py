# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils import scheduling

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
SYSTEM = {"metadata": {"name": "gke-system-1", "labels": {"cloud.google.com/gke-nodepool": "system"}},
          "status": {"allocatable": {"cpu": "3920m", "memory": "13961532Ki"}}}
GPU = {"metadata": {"name": "gke-gpu-1", "labels": {"cloud.google.com/gke-nodepool": "gpu"}},
       "spec": {"taints": [GPU_TAINT]}, "status": {"allocatable": {"cpu": "3920m", "memory": "12Gi"}}}
UNSCHEDULABLE = ("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {nvidia.com/gpu: "
                 "present}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 "
                 "Preemption is not helpful for scheduling.")


def container(cpu=None, memory=None, limit_cpu=None):
    resources = {}
    if cpu or memory:
        resources["requests"] = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if limit_cpu:
        resources["limits"] = {"cpu": limit_cpu}
    return {"name": "c", "resources": resources}


def pod(name, owner, node=None, cpu="1", memory="1Gi", pending=False, phase="Running", namespace="istio-system"):
    status = {"phase": "Pending" if pending else phase}
    if pending:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                 "message": UNSCHEDULABLE}]
    return {"metadata": {"name": name, "namespace": namespace, "ownerReferences": [{"kind": "ReplicaSet",
                                                                                   "name": owner}]},
            "spec": dict({"containers": [container(cpu, memory)]}, **({"nodeName": node} if node else {})),
            "status": status}


@pytest.mark.parametrize("spec, expected", [
    ({"containers": [container("500m", "2048Mi")]}, (0.5, 2 * 2 ** 30)),
    ({"containers": [container("100m", "128Mi"), container("1", "1Gi")]}, (1.1, 1152 * 2 ** 20)),
    ({"containers": [container(limit_cpu="2")]}, (2.0, 0.0)),                      # a limit alone is the request
    ({"containers": [container("100m")], "initContainers": [container("1", "100Mi")]}, (1.0, 100 * 2 ** 20)),
    ({"containers": []}, (0.0, 0.0)),
])
def test_pod_requests_count_as_the_scheduler_does(spec, expected):
    cpu, memory = scheduling.pod_requests(spec)
    assert (round(cpu, 3), memory) == expected


@pytest.mark.parametrize("spec, node, expected", [
    ({}, SYSTEM, True),
    ({}, GPU, False),
    ({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}, GPU, True),
    ({"tolerations": [{"operator": "Exists"}]}, GPU, True),
    ({"tolerations": [{"key": "nvidia.com/gpu", "value": "absent", "effect": "NoSchedule"}]}, GPU, False),
    ({"nodeSelector": {"cloud.google.com/gke-nodepool": "gpu"}}, SYSTEM, False),
])
def test_may_run_on_reads_selectors_and_taints(spec, node, expected):
    assert scheduling.may_run_on(spec, node) is expected


def test_node_free_subtracts_what_running_pods_ask_for():
    pods = [pod("a", "x", node="gke-system-1", cpu="2"), pod("b", "x", node="gke-system-1", cpu="1", phase="Succeeded"),
            pod("c", "x", node="gke-gpu-1", cpu="3")]
    cpu, memory, total_cpu, _total = scheduling.node_free(SYSTEM, pods)
    assert round(cpu, 3) == 1.92 and total_cpu == 3.92
    assert memory == 13961532 * 1024 - 2 ** 30


def test_pending_report_names_the_pod_the_numbers_and_the_fix():
    placed = [pod("istio-ingressgateway-5f-%d" % i, "istio-ingressgateway-5f", node="gke-system-1") for i in range(3)]
    waiting = [pod("istio-ingressgateway-5f-w%d" % i, "istio-ingressgateway-5f", pending=True) for i in range(2)]
    lines = scheduling.pending_report(waiting, placed + waiting, [SYSTEM, GPU], "add nodes to the system pool")
    assert lines == [
        "Pod istio-system/istio-ingressgateway-5f-w0 is Pending: it asks for 1 CPU and 1 GiB of memory, and no node "
        "it may run on has that free (0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
        "{nvidia.com/gpu: present}). Free on the nodes it may run on: gke-system-1: 0.92 CPU of 3.92 CPU, 10.3 GiB "
        "of 13.3 GiB. 1 more Pod(s) of istio-ingressgateway-5f wait the same way.",
        "Fix: add nodes to the system pool."]


@pytest.mark.parametrize("pods", [
    [],
    [pod("gpu-waiting", "p", pending=False)],
    [dict(pod("no-gpu", "p"), status={"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."}]})],
])
def test_pending_report_says_nothing_of_pods_that_wait_for_something_else(pods):
    assert scheduling.pending_report(pods, pods, [SYSTEM], "fix") == []


def deployment(name, available, ready=0, replicas=3, namespace="istio-system"):
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"replicas": replicas},
            "status": {"readyReplicas": ready, "conditions": [{"type": "Available",
                                                               "status": "True" if available else "False"}]}}
