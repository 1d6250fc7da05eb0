# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real control plane the lab moves to (issue 14) against the hand-written API twin it replaces, in one run:
time until the API answers, time until it runs a Deployment on a simulated node, and resident memory.

    .venv/bin/python bench/control_plane.py

Real: lab/kserve_lab/control_plane.py (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok from
scripts/lab-binaries). Baseline: the lab's hand-written API (k8s_api.K8sServer over k8s_store.Store, with its
controllers) in a process of its own. Both answer `kubectl version` and run a Deployment (applied as JSON: the
twin does not read the protobuf `kubectl create` sends) until Available. Issue 14's figures: a cluster that
answers within 30 s, one cluster within 1.5 GB resident.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from kserve_lab.control_plane import ControlPlane  # noqa: E402  pylint: disable=wrong-import-position

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

# The hand-written twin, alone in a process: a Store, its controllers and the API server, as clusters.py runs them.
TWIN = textwrap.dedent("""
    import os, sys, threading, time
    sys.path.insert(0, {lab!r})
    from kserve_lab.core import Knobs, RequestLog
    from kserve_lab.k8s_api import K8sServer
    from kserve_lab.k8s_controllers import Controllers
    from kserve_lab.k8s_store import Store
    from kserve_lab.pki import ClusterPki
    from kserve_lab.clusters import node_object
    from kserve_lab.serving import ServingPlatform
    folder = {folder!r}
    endpoint, ca = ClusterPki(folder)(("bench", "us-central1-a", "twin"))
    cluster_dir = os.path.join(folder, "clusters", "bench_us-central1-a_twin")
    host, port = endpoint.split(":")
    store = Store(version="v1.35.4-gke.0")
    knobs = Knobs()
    log = RequestLog(os.path.join(folder, "requests.jsonl"))
    platform = ServingPlatform(folder, log, os.path.join(folder, "requests.jsonl"), knobs)
    server = K8sServer((host, int(port)), store, log, knobs,
                       {token!r}, os.path.join(cluster_dir, "apiserver.pem"), os.path.join(cluster_dir, "apiserver.key"))
    store.controllers = Controllers(store, knobs, lambda node: None, platform=platform,
                                    key=("bench", "us-central1-a", "twin"),
                                    cluster={{"name": "twin"}}, address_block="127.9.9.")
    store.controllers.resync()
    cluster = {{"name": "twin", "location": "us-central1-a", "currentNodeVersion": "1.35.4-gke.0",
               "nodePools": [{{"name": "system", "initialNodeCount": 1, "config": {{"machineType": "e2-standard-4"}}}}]}}
    nodes = store.find("", "v1", "nodes")
    node = node_object(cluster, cluster["nodePools"][0], "us-central1-a", 0)
    created, _ = store.create(nodes, None, node, "gke")
    store.replace(nodes, None, node["metadata"]["name"], dict(created, status=node["status"]), "kubelet",
                  status_only=True)
    with open(os.path.join(folder, "kubeconfig"), "w") as handle:
        handle.write("apiVersion: v1\\nkind: Config\\ncurrent-context: t\\nclusters:\\n- name: t\\n  cluster:\\n"
                     "    server: https://%s\\n    certificate-authority: %s\\nusers:\\n- name: t\\n  user:\\n"
                     "    token: {token}\\ncontexts:\\n- name: t\\n  context: {{cluster: t, user: t}}\\n"
                     % (endpoint, os.path.join(cluster_dir, "ca.pem")))
    print("ready", flush=True)
    server.serve_forever()
""")


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
    # JSON through kubectl apply: `kubectl create deployment` sends protobuf, which the twin does not read.
    made = kubectl(config, "apply", "-f", "-", stdin=json.dumps(DEPLOYMENT))
    assert made.returncode == 0, made.stderr
    ok = until(config, "wait", "--for=condition=Available", "deployment/web", "--timeout=5s")
    return time.monotonic() - started if ok else float("nan")


def real(work):
    started = time.monotonic()
    plane = ControlPlane(os.path.join(work, "real"), name="bench").start()
    config = os.path.join(plane.directory, "admin.kubeconfig")
    answered = time.monotonic() - started
    kubectl(config, "apply", "-f", "-", stdin=json.dumps(NODE))
    kubectl(config, "patch", "node", "system-1", "--subresource=status", "--type=merge", "-p",
            json.dumps(NODE_STATUS))
    until(config, "wait", "--for=condition=Ready", "node/system-1", "--timeout=5s")
    deployment = run_deployment(config)
    time.sleep(2)
    memory = rss_mb([proc.pid for _name, proc, _log in plane.processes])
    plane.stop()
    return answered, deployment, memory


def twin(work):
    folder = os.path.join(work, "twin")
    os.makedirs(folder)
    started = time.monotonic()
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-c", TWIN.format(lab=os.path.join(ROOT, "lab"), folder=folder, token="bench-token")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        config = os.path.join(folder, "kubeconfig")
        until(config, "version")
        answered = time.monotonic() - started
        deployment = run_deployment(config)
        time.sleep(2)
        memory = rss_mb([proc.pid])
    finally:
        proc.terminate()
        proc.wait()
    return answered, deployment, memory


def main():
    work = tempfile.mkdtemp(prefix="bench-control-plane-")
    try:
        base = twin(work)
        ours = real(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("                                  hand-written twin   real control plane   ratio")
    for label, index, unit in (("until the API answers", 0, "s"), ("until a Deployment is Available", 1, "s"),
                               ("resident memory", 2, "MB")):
        print("%-33s %12.1f %-4s %14.1f %-4s %8.2fx" % (label, base[index], unit, ours[index], unit,
                                                        ours[index] / base[index]))
    print("issue 14's figures: answers within 30 s (%s), one cluster within 1.5 GB resident (%s)" % (
        "yes" if ours[0] <= 30 else "no", "yes" if ours[2] <= 1536 else "no"))


if __name__ == "__main__":
    main()
