# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubelet of a lab cluster's simulated nodes, as a client of its real API server.

kwok keeps the nodes (Ready, leases; kwok_stages.py); the Pods bound to them are run here (Kubelet), since what a
Pod does on GKE depends on the rest of the cluster in ways kwok's stages cannot say:
- a Pod starts after a delay (longer with a GPU); while a Secret one of its volumes needs is missing it stays Pending
  (ContainerCreating) with the kubelet's FailedMount event, and starts once the Secret exists;
- a container whose binary exits at start (STARTUP_CHECKS: Knative's version check) is restarted with back-off:
  Error, then CrashLoopBackOff, BackOff events, its last line in `kubectl logs`;
- a Pod whose readiness waits on another component (NEEDS: Istio's gateway and net-istio on istiod) runs unready,
  with an Unhealthy event, until that Service has a ready endpoint, and stays ready after (Envoy keeps the
  configuration it got);
- restartPolicy Never or OnFailure: the Pod runs to Succeeded;
- a deleted Pod's containers stop and the kubelet confirms the deletion (grace period 0), as on a node.
The first time a Pod runs, `started(pod)` is told (the GKE twin installs the driver when a driver-installer Pod
runs).

The nodes' kubelet port (KubeletServer) serves `containerLogs`, as kube-apiserver asks for `kubectl logs` and the
Pod log API (its own checks of the container name have run by then), over TLS, on the port each node reports in
status.daemonEndpoints.kubeletEndpoint; one server per cluster answers for all of its nodes (every simulated node
has the same InternalIP). No process runs, so what a container printed is the lab's choice (container_log):
nvidia-smi's table for a container running nvidia-smi with a GPU, a failed start check's last line for a container
that exited, nothing otherwise.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import knative
from .pki import serve_tls
from .watching import Reconciler, event, has_ready_endpoint, timestamp

# Real seconds before the lab's latency scale: a Pod's start (image pulls), with a GPU (the driver's libraries
# mounted, a bigger image), and the kubelet's restart back-off (10 s doubling to 5 minutes).
POD_START, GPU_POD_START = 8, 40
CRASH_BACKOFF, CRASH_BACKOFF_MAX = 10, 300
# Workloads whose Pods turn Ready only once a Service they talk to has ready endpoints (their readiness
# waits on it): Istio's gateway and Knative's Istio layer need istiod's xDS.
NEEDS = {("istio-system", "istio-ingressgateway"): (("istio-system", "istiod"),),
         ("knative-serving", "net-istio-controller"): (("istio-system", "istiod"),),
         ("knative-serving", "net-istio-webhook"): (("istio-system", "istiod"),)}
# What makes a container exit at start: each check takes (pod, container, the cluster's Kubernetes version) and
# answers None, or (seconds it runs first, its last log line).
STARTUP_CHECKS = (knative.version_check,)
# Pod addresses (a VPC-native cluster's Pod range is a /14 of the subnet's secondary range).
POD_RANGE = ipaddress.ip_network("10.64.0.0/14")

GPU_NAMES = {"nvidia-tesla-t4": "Tesla T4", "nvidia-l4": "NVIDIA L4", "nvidia-tesla-a100": "NVIDIA A100-SXM4-40GB"}


def gpu_request(pod_spec):
    """The nvidia.com/gpu a Pod's containers ask for (limits, else requests)."""
    total = 0
    for container in pod_spec.get("containers") or []:
        resources = container.get("resources") or {}
        wanted = (resources.get("limits") or {}).get("nvidia.com/gpu") or (resources.get("requests") or {}).get(
            "nvidia.com/gpu")
        total += int(wanted or 0)
    return total


def nvidia_smi(node):
    gpu = GPU_NAMES.get(((node.get("metadata") or {}).get("labels") or {}).get("cloud.google.com/gke-accelerator"), "Tesla T4")
    return "\n".join([
        "+-----------------------------------------------------------------------------------------+",
        "| NVIDIA-SMI 550.90.07              Driver Version: 550.90.07      CUDA Version: 12.4     |",
        "|-----------------------------------------+------------------------+----------------------+",
        "| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |",
        "| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |",
        "|=========================================+========================+======================|",
        "|   0  %-22s        Off |   00000000:00:04.0 Off |                    0 |" % gpu,
        "| N/A   36C    P8              9W /   70W |       1MiB /  15360MiB |      0%      Default |",
        "+-----------------------------------------+------------------------+----------------------+",
        "",
        "+-----------------------------------------------------------------------------------------+",
        "| Processes:                                                                              |",
        "|  No running processes found                                                             |",
        "+-----------------------------------------------------------------------------------------+",
        ""])


def startup_exit(pod, container, version):
    """(seconds it runs, last log line) when `container` exits at start on a cluster at `version`, else None."""
    return next((found for found in (check(pod, container, version) for check in STARTUP_CHECKS) if found), None)


def container_log(pod, node, container, version=""):
    """What `container` of `pod` on `node` printed (see the module's docstring)."""
    spec = pod.get("spec") or {}
    statuses = {s["name"]: s for s in (pod.get("status") or {}).get("containerStatuses") or []}
    for item in spec.get("containers") or []:
        if item["name"] == container:
            words = (item.get("command") or []) + (item.get("args") or [])
            if any("nvidia-smi" in word for word in words) and gpu_request(spec):
                return nvidia_smi(node)
            status = statuses.get(container) or {}
            exited = "terminated" in (status.get("state") or {}) or "terminated" in (status.get("lastState") or {})
            found = startup_exit(pod, item, version) if exited else None
            if found:
                return found[1] + "\n"
    return ""


def workload_of(pod):
    """(namespace, name) of the workload a Pod belongs to: a Deployment (through its ReplicaSet), or its owner."""
    meta = pod["metadata"]
    owner = next((ref for ref in meta.get("ownerReferences") or [] if ref.get("controller")), None)
    if owner is None:
        return meta["namespace"], None
    suffix = "-" + (meta.get("labels") or {}).get("pod-template-hash", "")
    name = owner["name"]
    if owner["kind"] == "ReplicaSet" and suffix != "-" and name.endswith(suffix):
        name = name[:-len(suffix)]
    return meta["namespace"], name


def missing_secrets(pod, secrets):
    """(volume, Secret) pairs of a Pod's required secret volumes whose Secret is not in `secrets` (names in the Pod's
    namespace)."""
    return [(volume["name"], volume["secret"]["secretName"]) for volume in pod["spec"].get("volumes") or []
            if (volume.get("secret") or {}).get("secretName") and not volume["secret"].get("optional")
            and volume["secret"]["secretName"] not in secrets]


def pod_address(uid, used):
    """An address of POD_RANGE for a Pod, fixed by its uid, not in `used`."""
    size = POD_RANGE.num_addresses - 2
    start = int(hashlib.sha256(uid.encode()).hexdigest(), 16) % size
    for step in range(size):
        address = str(POD_RANGE[1 + (start + step) % size])
        if address not in used:
            return address
    raise RuntimeError("no Pod address of %s is free" % POD_RANGE)


def pod_ready(pod):
    """Whether a Pod's Ready condition is True."""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def node_ip(node):
    return next((a["address"] for a in (node.get("status") or {}).get("addresses") or []
                 if a.get("type") == "InternalIP"), "")


def pod_status(pod, run):
    """The status a kubelet reports for `pod` in `run` (a PodRun): waiting for its volumes, running (ready or not,
    one container perhaps exited or backing off), or run to completion."""
    spec, now = pod["spec"], timestamp()
    names = [c["name"] for c in spec.get("containers") or []]
    if run.mounting:
        waiting = {"waiting": {"reason": "ContainerCreating"}}
        return {"phase": "Pending", "hostIP": run.host_ip, "startTime": run.started_at,
                "conditions": [{"type": "PodReadyToStartContainers", "status": "False"},
                               {"type": "Initialized", "status": "True"},
                               {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                                "message": "containers with unready status: [%s]" % " ".join(names)},
                               {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                                "message": "containers with unready status: [%s]" % " ".join(names)}],
                "containerStatuses": [{"name": n, "image": c.get("image", ""), "imageID": "", "ready": False,
                                       "started": False, "restartCount": 0, "state": waiting}
                                      for n, c in zip(names, spec.get("containers") or [])]}
    if run.init_failures and not run.init_done:
        return init_failed_status(pod, run)
    done = spec.get("restartPolicy") in ("Never", "OnFailure") and not run.crashing
    statuses = []
    for container in spec.get("containers") or []:
        started = {"startedAt": run.started_at}
        status = {"name": container["name"], "image": container.get("image", ""), "imageID": "",
                  "containerID": "containerd://" + hashlib.sha256((run.uid + container["name"]).encode()).hexdigest(),
                  "restartCount": 0, "started": not done, "ready": run.ready and not done,
                  "state": {"terminated": dict(started, exitCode=0, reason="Completed", finishedAt=now)}
                  if done else {"running": started}}
        status["restartCount"] = run.restarts
        if run.model_error and container["name"] == "kserve-container":
            status.update(ready=False, started=False, state={"terminated": {
                "exitCode": 1, "reason": "Error", "message": run.model_error, "startedAt": run.started_at,
                "finishedAt": now}})
        if container["name"] == run.crashing:
            exited = {"exitCode": 1, "reason": "Error", "startedAt": run.started_at, "finishedAt": run.exited_at}
            down = run.restart_at is not None  # exited, waiting for its back-off
            status.update(ready=False, restartCount=run.exits - 1 if down else run.exits)
            if down:
                status["started"] = False
                status["state"] = {"terminated": exited} if run.exits == 1 else {"waiting": {
                    "reason": "CrashLoopBackOff", "message": "back-off %ds restarting failed container=%s pod=%s_%s(%s)"
                    % (run.backoff, container["name"], pod["metadata"]["name"], pod["metadata"]["namespace"],
                       run.uid)}}
            if run.exits and not (down and run.exits == 1):
                status["lastState"] = {"terminated": exited}
        statuses.append(status)
    ready = all(s["ready"] for s in statuses)
    unready = [s["name"] for s in statuses if not s["ready"]]
    why = {} if ready else {"reason": "PodCompleted" if done else "ContainersNotReady", **(
        {} if done else {"message": "containers with unready status: [%s]" % " ".join(unready)})}
    status = {"phase": "Succeeded" if done else "Running", "hostIP": run.host_ip, "hostIPs": [{"ip": run.host_ip}],
              "podIP": run.pod_ip, "podIPs": [{"ip": run.pod_ip}], "startTime": run.started_at,
              "conditions": [{"type": "PodReadyToStartContainers", "status": "False" if done else "True"},
                             {"type": "Initialized", "status": "True"},
                             dict({"type": "Ready", "status": "True" if ready else "False"}, **why),
                             dict({"type": "ContainersReady", "status": "True" if ready else "False"}, **why)],
              "containerStatuses": statuses}
    if spec.get("initContainers"):
        status["initContainerStatuses"] = [
            {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True, "started": False,
             "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                                         "startedAt": run.started_at, "finishedAt": run.started_at}}}
            for c in spec["initContainers"]]
    return status


def init_failed_status(pod, run):
    """A Pod whose first init container failed (len(run.init_failures) times): Pending, the init container exited
    with its message and then backing off, the containers waiting for it."""
    spec, init = pod["spec"], pod["spec"]["initContainers"][0]
    count = len(run.init_failures)
    exited = {"exitCode": 1, "reason": "Error", "message": run.init_failures[-1], "startedAt": run.started_at,
              "finishedAt": timestamp()}
    state = {"terminated": exited} if count == 1 else {"waiting": {
        "reason": "CrashLoopBackOff", "message": "back-off %ds restarting failed container=%s pod=%s_%s(%s)" % (
            min(CRASH_BACKOFF * 2 ** (count - 2), CRASH_BACKOFF_MAX), init["name"], run.name, run.namespace,
            run.uid)}}
    init_status = {"name": init["name"], "image": init.get("image", ""), "imageID": "", "ready": False,
                   "started": False, "restartCount": count - 1, "state": state}
    if count > 1:
        init_status["lastState"] = {"terminated": exited}
    names = " ".join(c["name"] for c in spec.get("containers") or [])
    unready = {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [%s]"
               % names}
    return {"phase": "Pending", "hostIP": run.host_ip, "hostIPs": [{"ip": run.host_ip}], "podIP": run.pod_ip,
            "podIPs": [{"ip": run.pod_ip}], "startTime": run.started_at,
            "conditions": [{"type": "PodReadyToStartContainers", "status": "True"},
                           {"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized",
                            "message": "containers with incomplete status: [%s]" % init["name"]},
                           dict(unready, type="Ready"), dict(unready, type="ContainersReady")],
            "initContainerStatuses": [init_status],
            "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                                   "started": False, "restartCount": 0,
                                   "state": {"waiting": {"reason": "PodInitializing"}}}
                                  for c in spec.get("containers") or []]}


def status_summary(status):
    """What of a Pod's status the kubelet compares before it writes: everything but the times."""
    def plain(state):
        return {kind: {k: v for k, v in (detail or {}).items() if not k.endswith("At")}
                for kind, detail in (state or {}).items()}
    status = status or {}
    return (status.get("phase"), status.get("podIP"),
            sorted((c["type"], c["status"], c.get("reason")) for c in status.get("conditions") or []
                   if c["type"] != "PodScheduled"),
            [(c["name"], c.get("ready"), c.get("started"), c.get("restartCount"), plain(c.get("state")),
              plain(c.get("lastState"))) for c in status.get("containerStatuses") or []],
            len(status.get("initContainerStatuses") or []))


class PodRun:  # pylint: disable=too-many-instance-attributes  # a Pod's life on its node
    """What a kubelet knows of one Pod it runs."""

    def __init__(self, pod, due):
        self.uid, self.namespace, self.name = pod["metadata"]["uid"], pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.due = due
        self.host_ip = self.pod_ip = ""
        self.started_at = timestamp()
        self.mounting = self.warned_mount = self.warned_unready = self.ran = False
        self.ready = False
        self.crashing, self.exits, self.backoff = None, 0, 0
        self.exit_at = self.restart_at = None
        self.exited_at = ""
        # what a runner of the Pod's containers (kserve.Predictors) found: its first init container's failed runs,
        # whether it completed, the main container ended (with this message), how often it was restarted
        self.init_failures, self.init_done, self.init_retry_at, self.warned_init = [], False, None, 0
        self.model_state = self.model_error = None
        self.restarts = 0


class Kubelet(Reconciler):
    """Runs the Pods bound to a cluster's simulated nodes (see the module's docstring). `version()` is the
    cluster's Kubernetes version as its Pods see it; `started(pod)` is called when a Pod first runs; `predictors`
    (kserve.Predictors) runs the containers of KServe's predictor Pods."""

    def __init__(self, api, knobs, stopping, version=lambda: "", started=lambda pod: None, predictors=None):
        super().__init__(api, stopping)
        self.knobs, self.version, self.started, self.predictors = knobs, version, started, predictors
        self.runs = {}  # uid -> PodRun
        self.confirmed = set()  # uids whose deletion this kubelet confirmed

    def _core(self):
        from kubernetes.client import CoreV1Api
        return CoreV1Api(self.api)

    def watched(self):
        from kubernetes.client import DiscoveryV1Api
        core = self._core()
        return [(core.list_pod_for_all_namespaces, ()), (core.list_node, ()), (core.list_secret_for_all_namespaces, ()),
                (DiscoveryV1Api(self.api).list_endpoint_slice_for_all_namespaces, ())]

    def _wake(self, when):
        timer = threading.Timer(max(0.0, when - time.monotonic()) + 0.01, self.dirty.set)
        timer.daemon = True
        timer.start()

    def reconcile(self):
        from kubernetes.client.exceptions import ApiException
        core = self._core()
        nodes = {n["metadata"]["name"]: n for n in json.loads(core.list_node(_preload_content=False).data)["items"]
                 if node_ip(n)}  # a node runs Pods once it is up and reports its address (kwok: Ready)
        pods = json.loads(core.list_pod_for_all_namespaces(_preload_content=False).data)["items"]
        used = {(p.get("status") or {}).get("podIP") for p in pods}
        seen, lookups = set(), {}
        for pod in pods:
            node = nodes.get(pod["spec"].get("nodeName") or "")
            meta = pod["metadata"]
            if node is None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            seen.add(meta["uid"])
            if meta.get("deletionTimestamp"):
                self._confirm_deletion(core, pod)
                continue
            run = self.runs.get(meta["uid"])
            if run is None:
                run = self.runs[meta["uid"]] = self._adopt(pod, node, used)
            try:
                self._step(core, pod, node, run, lookups)
            except ApiException as exc:  # one Pod's write refused, or the Pod changed meanwhile: the others go on
                if exc.status not in (404, 409):
                    print("lab kubelet: %s/%s: %s %s" % (meta["namespace"], meta["name"], exc.status, exc.body),
                          file=sys.stderr)
                self._wake(time.monotonic() + 2)
        for uid in set(self.runs) - seen:
            self._stopped(self.runs.pop(uid))
        self.confirmed &= seen

    def _stopped(self, run):
        """A Pod's containers stop (it was deleted, or went)."""
        if self.predictors:
            self.predictors.gone(run.namespace, run.name)

    def _adopt(self, pod, node, used):
        """A Pod new to this kubelet: just bound, or running since before a lab restart (then it goes on)."""
        status = pod.get("status") or {}
        delay = GPU_POD_START if gpu_request(pod["spec"]) else POD_START
        running = status.get("phase") == "Running"
        run = PodRun(pod, time.monotonic() + (0 if running else self.knobs.duration(delay)))
        run.host_ip = node_ip(node)
        run.pod_ip = status.get("podIP") or (
            run.host_ip if pod["spec"].get("hostNetwork") else pod_address(run.uid, used))
        used.add(run.pod_ip)
        if running:
            run.started_at = status.get("startTime") or run.started_at
            run.ready = pod_ready(pod)
            run.init_done = all("terminated" in (c.get("state") or {}) and c["state"]["terminated"].get("exitCode") == 0
                                for c in status.get("initContainerStatuses") or [])
            run.model_state = "AVAILABLE" if run.ready else None
        return run

    def _step(self, core, pod, node, run, lookups):
        """Move one Pod on as far as it goes now, and write its status if that changed."""
        meta, now = pod["metadata"], time.monotonic()
        if now < run.due:
            self._wake(run.due)
            return
        missing = missing_secrets(pod, self._lookup(lookups, "secrets", meta["namespace"]))
        run.mounting = bool(missing)
        if missing and not run.warned_mount:
            run.warned_mount = True
            self._event(core, pod, node, "FailedMount", 'MountVolume.SetUp failed for volume "%s" : secret "%s" not '
                        'found' % missing[0])
        if not missing and self.predictors and self.predictors.handles(pod):
            again = self.predictors.step(pod, run, now)
            run.ready = run.model_state == "AVAILABLE"
            if len(run.init_failures) > max(run.warned_init, 1):
                run.warned_init = len(run.init_failures)
                self._event(core, pod, node, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)" % (
                    pod["spec"]["initContainers"][0]["name"], meta["name"], meta["namespace"], run.uid))
            if again:
                self._wake(again)
        elif not missing:
            exits = [(c["name"], found) for c in pod["spec"].get("containers") or []
                     for found in [startup_exit(pod, c, self.version())] if found]
            if exits:
                self._crash(core, pod, node, run, exits[0][0], exits[0][1][0], now)
            elif not run.ready:
                blocked = [svc for svc in NEEDS.get(workload_of(pod), ())
                           if not self._lookup(lookups, "ready", svc)]
                if blocked and not run.warned_unready:
                    run.warned_unready = True
                    self._event(core, pod, node, "Unhealthy", "Readiness probe failed: waiting for %s.%s" % (
                        blocked[0][1], blocked[0][0]))
                run.ready = not blocked
        status = pod_status(pod, run)
        if status_summary(status) != status_summary(pod.get("status")):
            stamp = timestamp()
            for item in status["conditions"]:
                item["lastTransitionTime"] = stamp
            core.patch_namespaced_pod_status(meta["name"], meta["namespace"], {"status": status})
        if status["phase"] != "Pending" and not run.ran:
            run.ran = True
            self.started(pod)

    def _crash(self, core, pod, node, run, container, runs_for, now):
        """A container whose binary exits at start: it runs `runs_for` seconds (unready), exits, and is restarted
        after the back-off, as long as the Pod exists."""
        run.crashing = container
        if run.restart_at is not None:
            if now < run.restart_at:
                self._wake(run.restart_at)
                return
            run.restart_at = None
        if run.exit_at is None:
            run.exit_at = now + self.knobs.duration(runs_for)
        if now < run.exit_at:
            self._wake(run.exit_at)
            return
        run.exits, run.exit_at, run.exited_at = run.exits + 1, None, timestamp()
        run.backoff = min(CRASH_BACKOFF * 2 ** (run.exits - 1), CRASH_BACKOFF_MAX)
        run.restart_at = now + self.knobs.duration(run.backoff)
        self._wake(run.restart_at)
        if run.exits > 1:
            self._event(core, pod, node, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)" % (
                container, pod["metadata"]["name"], pod["metadata"]["namespace"], run.uid))

    def _lookup(self, lookups, kind, key):
        """Secret names of a namespace, or whether a Service (namespace, name) has a ready endpoint; read once per
        reconcile."""
        if (kind, key) not in lookups:
            if kind == "secrets":
                listed = self._core().list_namespaced_secret(key, _preload_content=False)
                lookups[(kind, key)] = {s["metadata"]["name"] for s in json.loads(listed.data)["items"]}
            else:
                lookups[(kind, key)] = has_ready_endpoint(self.api, *key)
        return lookups[(kind, key)]

    def _confirm_deletion(self, core, pod):
        """The Pod's containers are stopped: confirm its deletion (grace period 0), as a kubelet does; finalizers
        still hold it until they go."""
        from kubernetes.client import V1DeleteOptions, V1Preconditions
        from kubernetes.client.exceptions import ApiException
        meta = pod["metadata"]
        if meta["uid"] in self.confirmed:
            return
        self.confirmed.add(meta["uid"])
        if meta["uid"] in self.runs:
            self._stopped(self.runs[meta["uid"]])
        try:
            core.delete_namespaced_pod(meta["name"], meta["namespace"], body=V1DeleteOptions(
                grace_period_seconds=0, preconditions=V1Preconditions(uid=meta["uid"])))
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise

    @staticmethod
    def _event(core, pod, node, reason, message):
        event(core, pod, reason, message, "kubelet", host=node["metadata"]["name"])


class KubeletHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """kube-apiserver's calls are logged at the front, as the user's request."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        parts = urllib.parse.urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        status, text = 404, "404 page not found\n"
        if len(segments) == 4 and segments[0] == "containerLogs":
            namespace, name, container = segments[1:]
            found = self.server.read(namespace, name)
            if found is not None:
                text = self.server.logs(namespace, name, container)
                if text is None:
                    text = container_log(*found, container, self.server.version())
                tail = urllib.parse.parse_qs(parts.query).get("tailLines")
                if tail:
                    lines = text.splitlines(keepends=True)
                    text = "".join(lines[len(lines) - min(len(lines), int(tail[0])):])
                status = 200
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class KubeletServer(ThreadingHTTPServer):
    """The kubelet port of a cluster's simulated nodes, on loopback; `read(namespace, name)` gives a Pod and its
    Node (api_reader), or None; `version()` is the cluster's Kubernetes version as its Pods see it; `logs(namespace,
    name, container)` what a container the lab runs printed (None: not one of those)."""

    daemon_threads = True

    def __init__(self, host, certfile, keyfile, read, version=lambda: "", logs=lambda namespace, name, container: None):
        if not host.startswith("127."):
            raise ValueError("the lab binds to 127.0.0.0/8 only, not %s" % host)
        super().__init__((host, 0), KubeletHandler)
        self.read, self.version, self.logs = read, version, logs
        serve_tls(self, certfile, keyfile)

    @property
    def port(self):
        return self.server_address[1]


def api_reader(api_client):
    """read(namespace, name) for KubeletServer over a kubernetes client ApiClient: (Pod, its Node) as dicts, or None
    when the Pod is gone."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException
    core = CoreV1Api(api_client)

    def read(namespace, name):
        try:
            pod = json.loads(core.read_namespaced_pod(name, namespace, _preload_content=False).data)
            node = json.loads(core.read_node(pod["spec"]["nodeName"], _preload_content=False).data)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return pod, node
    return read
