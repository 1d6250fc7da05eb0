# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each GKE twin cluster on a real control plane (control_plane.py): what GKE does to a cluster's Kubernetes, done
through the API as GKE's own components do it.

When a cluster's create operation finishes, its etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
kwok start in the cluster's directory, and the front (k8s_front.py) listens at the endpoint the GKE twin reported,
with the cluster's certificate. Then, as a client of that API server under an identity of its own:
- the nodes of every node pool are registered (clusters.wanted_nodes: GKE's labels, the GPU taint, CPU and memory
  allocatable by machine type) for kwok to run, and follow the pools as they grow, shrink or go;
- kube-apiserver's traffic into the cluster (webhooks, kubelets) goes through the lab's egress proxy (network.py),
  never out of the lab;
- webhook registrations get a server and their CA once their Service has a ready Pod (webhooks.py), and
  LoadBalancer Services an address (load_balancers.py);
- cert-manager's Issuers and Certificates are served while its controller runs (cert_manager.py), and KServe's
  InferenceServices while its controller runs, their predictor Pods' containers run by the lab (kserve.py);
- the Pods bound to the nodes are run by the lab's kubelet, whose port answers the API server's log requests
  (kubelet.py); the cluster's version its Pods see is the one GKE reports (kube-apiserver's is always the pinned
  v1.35.4, see docs/lab.md);
- nvidia.com/gpu becomes allocatable on a GPU node once a driver is installed: GKE-managed drivers after a delay;
  with INSTALLATION_DISABLED, once a Pod of the driver-installer DaemonSet (k8s-app: nvidia-driver-installer) runs
  on that node;
- GKE's kube-system workloads (gke_nodes.py) are created, and created again after a lab restart if someone deleted
  them, as GKE's add-on manager reconciles them.
A cluster's objects live in its etcd, so a lab restart keeps them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading

from .cert_manager import CertManager
from .clusters import DRIVER_INSTALL_SECONDS, address_block, cluster_folder, wanted_nodes, write_kubeconfig
from .control_plane import ControlPlane
from .gke_nodes import system_workloads
from .k8s_front import ApiFront
from .kserve import ApiRoutes, KServeController, Predictors
from .kubelet import Kubelet, KubeletServer, api_reader
from .load_balancers import LoadBalancers
from .network import ClusterNetwork
from .webhooks import Webhooks

DRIVER_INSTALLER = ("k8s-app", "nvidia-driver-installer")


class Plane:
    """One cluster's running control plane, front and API client; its processes belong to its keeper thread."""

    def __init__(self, key, cluster, runtime):
        self.key, self.cluster, self.runtime = key, cluster, runtime
        self.folder = cluster_folder(runtime.state_dir, key)
        self.ready, self.stopping = threading.Event(), threading.Event()
        self.error = None
        self.control = self.front = self.api = self.kubelet = self.network = self.webhooks = self.routes = None
        self.scratch = None
        self.timers = []
        self.keeper = threading.Thread(target=self._keep, name="plane-%s" % key[2], daemon=True)

    def _keep(self):
        """Start everything, then hold the processes until stop(): the processes die with this thread
        (PR_SET_PDEATHSIG), so it lives exactly as long as the plane."""
        try:
            name = self.key[2]
            # A short path of its own (a Unix socket's path has a 108-byte limit; cluster directories are deep)
            self.scratch = tempfile.mkdtemp(prefix="kserve-lab-net-")
            self.network = ClusterNetwork(os.path.join(self.scratch, "egress.sock"))
            threading.Thread(target=self.network.serve_forever, daemon=True).start()
            self.control = ControlPlane(
                self.folder, name=name, token=self.runtime.token, egress=self.network.server_address,
                google_auth=self.runtime.google_auth,
                issuer="https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s" % self.key)
            self.control.start()
            host, port = self.cluster["endpoint"].split(":")
            self.front = ApiFront((host, int(port)), (self.control.host, self.control.port),
                                  os.path.join(self.folder, "ca.pem"), os.path.join(self.folder, "apiserver.pem"),
                                  os.path.join(self.folder, "apiserver.key"), self.runtime.log, self.runtime.knobs)
            threading.Thread(target=self.front.serve_forever, daemon=True).start()
            self.api = api_client(self.control)
            platform = self.runtime.platform
            predictors = Predictors(self.api, platform, self.key, lambda: self.cluster, self.runtime.knobs) \
                if platform else None
            self.kubelet = KubeletServer(self.control.host, os.path.join(self.folder, "apiserver.pem"),
                                         os.path.join(self.folder, "apiserver.key"), api_reader(self.api),
                                         self.version, predictors.log if predictors else lambda *_: None)
            threading.Thread(target=self.kubelet.serve_forever, daemon=True).start()
            self.network.api, self.network.kubelet_port = self.api, self.kubelet.port
            self.webhooks = Webhooks(self.api, self.network, self.folder, self.stopping)
            self.network.ensure = self.webhooks.ensure
            self.webhooks.start()
            routes = ApiRoutes(self.api, platform, self.key) if platform else None
            self.routes = routes
            LoadBalancers(self.api, self.runtime.address_block(self.key), self.runtime.knobs, self.stopping,
                          routes).start()
            CertManager(self.api, self.stopping).start()
            self._add_ons()
            Kubelet(self.api, self.runtime.knobs, self.stopping, self.version, self._pod_started, predictors).start()
            KServeController(self.api, self.stopping).start()
        except Exception as exc:  # pylint: disable=broad-except  # handed to start()'s caller
            self.error = exc
            self.ready.set()
            self._shutdown()
            return
        self.ready.set()
        self.stopping.wait()
        self._shutdown()

    def _shutdown(self):
        for timer in self.timers:
            timer.cancel()
        if self.routes:  # the gateways and model servers of this cluster
            self.routes.stop()
        if self.webhooks:
            self.webhooks.stop()
        for server in (self.front, self.kubelet, self.network):
            if server:
                server.shutdown()
                server.server_close()
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if self.control:
            self.control.stop()

    # --- what GKE does through the API -----------------------------------------------------------------------
    def _add_ons(self):
        """GKE's kube-system workloads, created where missing (an add-on manager's reconcile)."""
        from kubernetes.client import AppsV1Api
        from kubernetes.client.exceptions import ApiException
        apps = AppsV1Api(self.api)
        create = {"DaemonSet": apps.create_namespaced_daemon_set, "Deployment": apps.create_namespaced_deployment}
        for obj in system_workloads():
            try:
                create[obj["kind"]]("kube-system", obj, field_manager="addon-manager")
            except ApiException as exc:
                if exc.status != 409:
                    raise

    def version(self):
        """The cluster's Kubernetes version as GKE reports it, which is what its Pods see on GKE."""
        return self.cluster.get("currentMasterVersion", "")

    def _pod_started(self, pod):
        if ((pod["metadata"].get("labels") or {}).get(DRIVER_INSTALLER[0]) == DRIVER_INSTALLER[1]
                and pod["metadata"]["namespace"] == "kube-system"):
            self.driver_installed(pod["spec"]["nodeName"])

    def sync_nodes(self, cluster):
        """Make the Nodes match the cluster's node pools (count per zone): register new ones with GKE's labels,
        taint and allocatable (kwok then reports them Ready), delete those of pools that went."""
        from kubernetes.client import CoreV1Api
        self.cluster = cluster
        core = CoreV1Api(self.api)
        wanted = wanted_nodes(cluster)
        listed = json.loads(core.list_node(_preload_content=False).data)
        existing = {n["metadata"]["name"] for n in listed["items"]}
        for name in sorted(existing - set(wanted)):
            core.delete_node(name)
        endpoints = {"kubeletEndpoint": {"Port": self.kubelet.port}}
        for node in listed["items"]:  # after a lab restart the kubelets report their new port, as on a reboot
            if node["metadata"]["name"] in wanted and node["status"].get("daemonEndpoints") != endpoints:
                core.patch_node_status(node["metadata"]["name"], {"status": {"daemonEndpoints": endpoints}},
                                       field_manager="kubelet")
        for name in sorted(set(wanted) - existing):
            node = wanted[name]
            status = node.pop("status")
            status.pop("conditions")  # kwok reports them, as a kubelet does (kwok_stages.py)
            status["daemonEndpoints"] = endpoints
            node["metadata"].setdefault("annotations", {})["kwok.x-k8s.io/node"] = "fake"
            core.create_node(node, field_manager="gke")
            core.patch_node_status(name, {"status": status}, field_manager="kubelet")
            if node["metadata"]["labels"].get("cloud.google.com/gke-gpu-driver-version"):
                self._later(DRIVER_INSTALL_SECONDS, self.driver_installed, name)

    def _later(self, seconds, func, *args):
        timer = threading.Timer(self.runtime.knobs.duration(seconds), func, args)
        timer.daemon = True
        self.timers.append(timer)
        timer.start()

    def driver_installed(self, name):
        """A driver serves a node's GPUs (installed by GKE, or by the driver-installer DaemonSet's Pod): the device
        plugin reports them, so nvidia.com/gpu becomes allocatable."""
        from kubernetes.client import CoreV1Api
        core = CoreV1Api(self.api)
        node = json.loads(core.read_node(name, _preload_content=False).data)
        gpus = int(node["metadata"].get("annotations", {}).get("lab/gpus") or 0)
        if gpus and "nvidia.com/gpu" not in node.get("status", {}).get("allocatable", {}):
            quantity = {"nvidia.com/gpu": str(gpus)}
            core.patch_node_status(name, {"status": {"capacity": quantity, "allocatable": quantity}},
                                   field_manager="kubelet")


def api_client(control):
    """A kubernetes client ApiClient on the plane's own API server, as the lab's identity."""
    from kubernetes.client import ApiClient, Configuration
    config = Configuration()
    config.host = control.server
    config.ssl_ca_cert = os.path.join(control.directory, "ca.pem")
    config.api_key = {"authorization": "Bearer " + control.lab_token}
    return ApiClient(config)


class PlaneRuntime:
    """The lab's clusters on real control planes; the same interface as clusters.ClusterRuntime."""

    def __init__(self, state_dir, log, knobs, token):
        self.state_dir, self.log, self.knobs, self.token = state_dir, log, knobs, token
        self.lock, self.kubeconfig_lock = threading.Lock(), threading.Lock()
        self.planes = {}
        self.platform = None  # the serving platform (serving.ServingPlatform), set by the lab's server
        self.google_auth = None  # how to reach GKE's authentication webhooks (GkeAuthServer.credentials), set by it too

    def folder(self, key):
        return cluster_folder(self.state_dir, key)

    def address_block(self, key):
        return address_block(self.state_dir, key)

    def start(self, key, cluster, timeout=120):
        """Start a cluster's plane if it is not running, and wait for it; its nodes come with sync_nodes, which the
        caller runs."""
        with self.lock:
            plane = self.planes.get(key)
            started = plane is None
            if started:
                plane = self.planes[key] = Plane(key, cluster, self)
                plane.keeper.start()
        if not plane.ready.wait(timeout):
            raise RuntimeError("the control plane of %s did not start in %d s" % ("/".join(key), timeout))
        if plane.error:
            with self.lock:
                self.planes.pop(key, None)
            raise plane.error
        if started:
            self.write_kubeconfig()

    def sync_nodes(self, key, cluster):
        plane = self.planes.get(key)
        if plane and plane.ready.is_set() and not plane.error:
            plane.sync_nodes(cluster)

    def stop(self, key, forget=False):
        """Stop a cluster's plane; forget=True (the cluster was deleted) also drops its objects."""
        with self.lock:
            plane = self.planes.pop(key, None)
        if plane:
            plane.stopping.set()
            plane.keeper.join(60)
        if forget:
            shutil.rmtree(os.path.join(self.folder(key), "etcd-data"), ignore_errors=True)
        self.write_kubeconfig()

    def stop_all(self):
        """Stop every plane, all at once (each takes a few seconds)."""
        stoppers = [threading.Thread(target=self.stop, args=(key,)) for key in list(self.planes)]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()

    def save_dirty(self):
        """Nothing to do: a cluster's objects are in its etcd."""

    def last_request(self):
        return max([p.front.last_request for p in self.planes.values() if p.front] or [0])

    def write_kubeconfig(self):
        with self.kubeconfig_lock:  # planes stop in parallel
            running = {key: plane.front.url for key, plane in list(self.planes.items()) if plane.front}
            write_kubeconfig(self.state_dir, running, self.token)
