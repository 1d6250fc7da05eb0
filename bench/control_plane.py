# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab cluster's control plane (issue 14), whole, against its API part alone, in one run: time until the API
answers and resident memory, and how long the whole plane takes to run a Deployment on a simulated node.

    .venv/bin/python bench/control_plane.py

Whole plane: lab/kserve_lab/control_plane.py (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
from scripts/lab-binaries) with the lab's kubelet running the Pods. Baseline: etcd and kube-apiserver alone
(`start(workloads=False)`), what any cluster costs before it runs anything. Issue 14's figures: a cluster that
answers within 30 s, one cluster within 1.5 GB resident.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from kserve_lab.control_plane import ControlPlane  # noqa: E402  pylint: disable=wrong-import-position
from kserve_lab.core import Knobs  # noqa: E402  pylint: disable=wrong-import-position
from kserve_lab.kubelet import Kubelet  # noqa: E402  pylint: disable=wrong-import-position
from kserve_lab.planes import api_client  # noqa: E402  pylint: disable=wrong-import-position

NODE = {"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "system-1", "annotations": {"kwok.x-k8s.io/node": "fake"},
                     "labels": {"kubernetes.io/hostname": "system-1"}}}
NODE_STATUS = {"status": {"allocatable": {"cpu": "3920m", "memory": "13Gi", "pods": "110"},
                          "capacity": {"cpu": "4", "memory": "15Gi", "pods": "110"}}}

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "web", "image": "registry.k8s.io/pause:3.10",
                                                             "resources": {"requests": {"cpu": "100m"}}}]}}}}


def rss_mb(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/status" % pid, encoding="utf-8") as handle:
            total += int(next(line for line in handle if line.startswith("VmRSS")).split()[1])
    return total / 1024


def kubectl(config, *args, stdin=None):
    return subprocess.run(["kubectl", "--kubeconfig", config] + list(args), input=stdin, capture_output=True,
                          text=True, check=False)


def until(config, *args, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kubectl(config, *args).returncode == 0:
            return True
        time.sleep(0.2)
    return False


def run_deployment(config):
    """Seconds until a Deployment of two Pods is Available."""
    started = time.monotonic()
    made = kubectl(config, "apply", "-f", "-", stdin=json.dumps(DEPLOYMENT))
    assert made.returncode == 0, made.stderr
    ok = until(config, "wait", "--for=condition=Available", "deployment/web", "--timeout=5s")
    return time.monotonic() - started if ok else float("nan")


def plane_run(work, workloads):
    """(seconds until the API answers, seconds until a Deployment is Available or None, resident MB)."""
    started = time.monotonic()
    plane = ControlPlane(os.path.join(work, "full" if workloads else "bare"), name="bench")
    plane.start(workloads=workloads)
    config = os.path.join(plane.directory, "admin.kubeconfig")
    answered = time.monotonic() - started
    deployment = None
    stopping = threading.Event()
    try:
        if workloads:
            Kubelet(api_client(plane), Knobs(), stopping).start()
            kubectl(config, "apply", "-f", "-", stdin=json.dumps(NODE))
            kubectl(config, "patch", "node", "system-1", "--subresource=status", "--type=merge", "-p",
                    json.dumps(NODE_STATUS))
            until(config, "wait", "--for=condition=Ready", "node/system-1", "--timeout=5s")
            deployment = run_deployment(config)
        time.sleep(2)
        memory = rss_mb([proc.pid for _name, proc, _log in plane.processes])
    finally:
        stopping.set()
        plane.stop()
    return answered, deployment, memory


def main():
    work = tempfile.mkdtemp(prefix="bench-control-plane-")
    try:
        base = plane_run(work, workloads=False)
        ours = plane_run(work, workloads=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("                                  etcd + kube-apiserver   whole plane   ratio")
    for label, index, unit in (("until the API answers", 0, "s"), ("resident memory", 2, "MB")):
        print("%-33s %12.1f %-4s %14.1f %-4s %8.2fx" % (label, base[index], unit, ours[index], unit,
                                                        ours[index] / base[index]))
    print("%-33s %12s %-4s %14.1f s" % ("until a Deployment is Available", "-", "", ours[1]))
    print("issue 14's figures: answers within 30 s (%s), one cluster within 1.5 GB resident (%s)" % (
        "yes" if ours[0] <= 30 else "no", "yes" if ours[2] <= 1536 else "no"))


if __name__ == "__main__":
    main()
