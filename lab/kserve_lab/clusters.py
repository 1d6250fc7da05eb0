# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a GKE twin cluster's Kubernetes is made of, whoever runs it (planes.py): its directory, its block of
load balancer addresses, the kubeconfig contexts, and the Nodes GKE registers for its node pools: GKE's labels, the
GPU taint, CPU and memory allocatable by machine type after GKE's reservations (gke_nodes.py), and the GPU count that
becomes allocatable once a driver is installed (GKE-managed drivers after DRIVER_INSTALL_SECONDS; with
INSTALLATION_DISABLED, not until a driver is installed in-cluster).
"""

from __future__ import annotations

import base64
import hashlib
import os

import yaml

from .gke import pool_size
from .gke_nodes import resources

DRIVER_INSTALL_SECONDS = 90


def context_name(key):
    return "gke_%s_%s_%s" % key


def cluster_folder(state_dir, key):
    """A cluster's directory: its certificates, its control plane's files and its objects (etcd)."""
    return os.path.join(state_dir, "clusters", "%s_%s_%s" % key)


def address_block(state_dir, key):
    """The 127.A.B. block a cluster's load balancers take their addresses from: fixed by the lab's state
    directory and the cluster, so that two labs on one machine, or two clusters of one lab, do not listen
    on the same address (127.0.0.x is left to the lab's servers)."""
    digest = hashlib.sha256(("%s|%s" % (os.path.realpath(state_dir), "|".join(key))).encode()).digest()
    return "127.%d.%d." % (1 + digest[0] % 254, digest[1])


def write_kubeconfig(state_dir, servers, token):
    """.lab/kubeconfig: a context per running cluster ({key: API URL}), named as gcloud names them."""
    clusters, contexts, users = [], [], []
    for key in sorted(servers):
        name = context_name(key)
        with open(os.path.join(cluster_folder(state_dir, key), "ca.pem"), "rb") as handle:
            ca = base64.b64encode(handle.read()).decode()
        clusters.append({"name": name, "cluster": {"server": servers[key], "certificate-authority-data": ca}})
        users.append({"name": name, "user": {"token": token}})
        contexts.append({"name": name, "context": {"cluster": name, "user": name}})
    config = {"apiVersion": "v1", "kind": "Config", "clusters": clusters, "users": users, "contexts": contexts,
              "current-context": contexts[0]["name"] if contexts else "", "preferences": {}}
    path = os.path.join(state_dir, "kubeconfig")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)
    os.chmod(path + ".tmp", 0o600)
    os.replace(path + ".tmp", path)


def wanted_nodes(cluster):
    """{name: Node} of every node the cluster's pools have (count per zone; a pool being deleted has none)."""
    wanted = {}
    for pool in cluster["nodePools"]:
        if pool.get("status") == "STOPPING":
            continue
        for zone in pool.get("locations") or [cluster["location"]]:
            for index in range(pool_size(pool)):
                node = node_object(cluster, pool, zone, index)
                wanted[node["metadata"]["name"]] = node
    return wanted


def node_object(cluster, pool, zone, index):
    """The Node GKE registers for a pool's index-th node in zone: GKE's labels, the GPU taint, CPU and memory by
    machine type, and the GPU count (annotation lab/gpus) that becomes allocatable once a driver serves it."""
    config = pool.get("config") or {}
    machine = config.get("machineType", "e2-medium")
    capacity, allocatable = resources(machine)
    digest = hashlib.sha1(("%s/%s" % (cluster["name"], pool["name"])).encode()).hexdigest()[:8]
    suffix = hashlib.sha1(("%s/%d" % (zone, index)).encode()).hexdigest()[:4]
    name = "gke-%s-%s-%s-%s" % (cluster["name"][:18], pool["name"][:10], digest, suffix)
    labels = {
        "cloud.google.com/gke-nodepool": pool["name"],
        "cloud.google.com/machine-family": machine.split("-")[0],
        "cloud.google.com/gke-os-distribution": "ubuntu" if "UBUNTU" in config.get("imageType", "") else "cos",
        "node.kubernetes.io/instance-type": machine,
        "topology.kubernetes.io/zone": zone,
        "topology.kubernetes.io/region": zone.rsplit("-", 1)[0],
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
    }
    taints, gpus = list(config.get("taints") or []), 0
    for acc in config.get("accelerators") or []:
        gpus += int(acc.get("acceleratorCount") or 0)
        labels["cloud.google.com/gke-accelerator"] = acc.get("acceleratorType", "")
        driver = (acc.get("gpuDriverInstallationConfig") or {}).get("gpuDriverVersion")
        if driver in ("DEFAULT", "LATEST"):
            labels["cloud.google.com/gke-gpu-driver-version"] = driver.lower()
    if gpus:
        taints.append({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"})
    taints = [{"key": t["key"], "value": t.get("value", ""), "effect": t["effect"].replace(
        "NO_SCHEDULE", "NoSchedule").replace("PREFER_NO_SCHEDULE", "PreferNoSchedule").replace(
        "NO_EXECUTE", "NoExecute")} for t in taints]
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {"lab/gpus": str(gpus)}},
        "spec": {"providerID": "gce://%s/%s/%s" % (cluster.get("_project", ""), zone, name),
                 **({"taints": taints} if taints else {})},
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status"}],
            "nodeInfo": {"kubeletVersion": "v" + pool.get("version", cluster["currentNodeVersion"]),
                         "containerRuntimeVersion": "containerd://1.7.28", "osImage": labels[
                             "cloud.google.com/gke-os-distribution"], "architecture": "amd64",
                         "operatingSystem": "linux"},
        },
    }
