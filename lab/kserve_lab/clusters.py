# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each GKE twin cluster's Kubernetes API twin, with its Nodes.

When a cluster's create operation finishes, its API server starts at the
endpoint the GKE twin reported, with the cluster's own certificate. Nodes
follow the node pools: GKE's labels, the GPU taint, CPU and memory allocatable
by machine type after GKE's reservations, and allocatable nvidia.com/gpu only
once a driver is installed (GKE-managed drivers after a delay; with
INSTALLATION_DISABLED, not until a driver is installed in-cluster). A new
cluster starts with GKE's own kube-system workloads (gke_nodes.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
import pickle
import threading
import traceback

import yaml

from .gke import pool_size
from .gke_nodes import resources, system_workloads
from .k8s_api import K8sServer
from .k8s_controllers import Controllers
from .k8s_store import Store

DRIVER_INSTALL_SECONDS = 90
# A cluster's objects across lab restarts: the lab's own state, read back only by the lab
# (pickle keeps the field-ownership sets exactly as they were).
SNAPSHOT = "objects.pickle"


def context_name(key):
    return "gke_%s_%s_%s" % key


class ClusterRuntime:
    def __init__(self, state_dir, log, knobs, token):
        self.state_dir = state_dir
        self.log = log
        self.knobs = knobs
        self.token = token
        self.lock = threading.Lock()
        self.servers = {}  # cluster key -> (K8sServer, Store)
        self.timers = []
        self.dirty = set()  # clusters whose objects changed since they were last saved
        self.platform = None  # the serving platform (serving.ServingPlatform), set by the server

    # --- lifecycle ----------------------------------------------------------
    def folder(self, key):
        return cluster_folder(self.state_dir, key)

    def start(self, key, cluster):
        """Start a cluster's API if it is not running; its nodes come with sync_nodes, which the caller runs."""
        with self.lock:
            if key in self.servers:
                return
            folder = self.folder(key)
            host, port = cluster["endpoint"].split(":")
            store = Store(version="v" + cluster["currentMasterVersion"], crd_delay=self.knobs.duration(5))
            saved = os.path.join(folder, SNAPSHOT)
            restored = os.path.exists(saved)
            if restored:  # a lab restart: the cluster's objects come back
                with open(saved, "rb") as handle:
                    store.restore(pickle.load(handle))
            store.hooks.append(lambda *_args, k=key: self.dirty.add(k))
            server = K8sServer((host, int(port)), store, self.log, self.knobs, self.token,
                               os.path.join(folder, "apiserver.pem"), os.path.join(folder, "apiserver.key"))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            store.controllers = Controllers(store, self.knobs, lambda node, k=key: self.driver_installed(k, node),
                                            platform=self.platform, key=key, cluster=cluster,
                                            address_block=self.address_block(key))
            store.controllers.resync()
            if not restored:  # what GKE runs in kube-system before anything of ours
                for obj in system_workloads():
                    plural = obj["kind"].lower() + "s"
                    store.create(store.find("apps", "v1", plural), "kube-system", obj, "addon-manager")
            self.servers[key] = (server, store)
        self.write_kubeconfig()

    def stop(self, key, forget=False):
        """Stop a cluster's API; forget=True (the cluster was deleted) also drops its saved objects."""
        with self.lock:
            entry = self.servers.pop(key, None)
        saved = os.path.join(self.folder(key), SNAPSHOT)
        if forget and os.path.exists(saved):
            os.remove(saved)
        if entry and not forget:
            self.save(key, entry[1])
        if entry:
            entry[1].controllers.stop()
            entry[0].shutdown()
            entry[0].server_close()
        self.write_kubeconfig()

    def address_block(self, key):
        return address_block(self.state_dir, key)

    def save(self, key, store):
        """Write a cluster's objects to its folder (atomically), so a lab restart keeps them."""
        self.dirty.discard(key)
        path = os.path.join(self.folder(key), SNAPSHOT)
        if not os.path.isdir(os.path.dirname(path)):
            return
        with open(path + ".tmp", "wb") as handle:
            pickle.dump(store.snapshot(), handle)
        os.replace(path + ".tmp", path)

    def save_dirty(self):
        """Called about once a second by the server loop; a failure is logged, never fatal."""
        for key in list(self.dirty):
            entry = self.servers.get(key)
            try:
                if entry:
                    self.save(key, entry[1])
            except (OSError, pickle.PicklingError):
                traceback.print_exc()

    def stop_all(self):
        for timer in self.timers:
            timer.cancel()
        for key in list(self.servers):
            self.stop(key)

    def last_request(self):
        return max([s.last_request for s, _unused in self.servers.values()] or [0])

    # --- nodes ---------------------------------------------------------------
    def sync_nodes(self, key, cluster):
        """Make the Nodes match the cluster's node pools (count per zone)."""
        entry = self.servers.get(key)
        if not entry:
            return
        store = entry[1]
        nodes = store.find("", "v1", "nodes")
        wanted = wanted_nodes(cluster)
        existing = {o["metadata"]["name"] for o in store.list(nodes)["items"]}
        for name in sorted(existing - set(wanted)):
            store.delete(nodes, None, name)
        for name in sorted(set(wanted) - existing):
            node = wanted[name]
            created, _unused = store.create(nodes, None, node, "gke")
            # status is a subresource: the kubelet reports it after registration
            store.replace(nodes, None, name, dict(created, status=node["status"]), "kubelet", status_only=True)
            if node["metadata"]["labels"].get("cloud.google.com/gke-gpu-driver-version"):
                self._later(DRIVER_INSTALL_SECONDS, self.driver_installed, key, name)

    def _later(self, seconds, func, *args):
        timer = threading.Timer(self.knobs.duration(seconds), func, args)
        timer.daemon = True
        self.timers.append(timer)
        timer.start()

    def driver_installed(self, key, name):
        """A driver is installed on a node (by GKE, or by the driver-installer DaemonSet's pod): its GPUs
        become allocatable."""
        entry = self.servers.get(key)
        if entry:
            node = entry[1].get(entry[1].find("", "v1", "nodes"), None, name)
            gpus = int(node["metadata"]["annotations"].get("lab/gpus") or 0)
            if gpus and "nvidia.com/gpu" not in (node.get("status") or {}).get("allocatable", {}):
                self.set_node_status(entry[1], name, gpus=gpus)

    def set_node_status(self, store, name, gpus):
        """Publish capacity; nvidia.com/gpu only when a driver serves the GPUs."""
        nodes = store.find("", "v1", "nodes")
        node = store.get(nodes, None, name)
        status = node.get("status") or {}
        for field in ("capacity", "allocatable"):
            status.setdefault(field, {})
            if gpus:
                status[field]["nvidia.com/gpu"] = str(gpus)
        store.replace(nodes, None, name, dict(node, status=status), "kubelet", status_only=True)

    # --- kubeconfig ----------------------------------------------------------
    def write_kubeconfig(self):
        write_kubeconfig(self.state_dir, {key: self.servers[key][0].url for key in self.servers}, self.token)


def cluster_folder(state_dir, key):
    """A cluster's directory: its certificates, and its objects (the twin's snapshot, or a real plane's etcd)."""
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
