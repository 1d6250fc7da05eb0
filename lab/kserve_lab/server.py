# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs every twin in one process until stopped, or until idle for too long."""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time

import yaml

from .core import Knobs, LabServer, RequestLog
from .gcs import GcsServer
from .gke import GkeHandler, GkeState
from .gke_auth import GkeAuthServer
from .iam import LAB_ACCOUNT, IamHandler, IamState
from .pki import ClusterPki, write_private
from .planes import PlaneRuntime
from .releases import MirrorServer, write_mirror
from .serviceusage import ServiceUsageHandler, ServiceUsageState
from .serving import ServingPlatform

HOST = "127.0.0.1"
VERSIONS = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "vars", "versions.yml")


def default_versions():
    """The collection's pinned versions: the mirror has stand-ins for exactly these."""
    with open(VERSIONS, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["kserve_gke_version_defaults"]


def load_knobs(state_dir):
    path = os.path.join(state_dir, "knobs.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return Knobs(**json.load(handle))
    return Knobs()


def serve(state_dir, idle_timeout=1800.0, gpu_quota=None):
    os.makedirs(state_dir, exist_ok=True)
    knobs = load_knobs(state_dir)
    log = RequestLog(os.path.join(state_dir, "requests.jsonl"))
    token_path = os.path.join(state_dir, "token")
    if not os.path.exists(token_path):   # 0600: a credential, like the collection's own files
        with os.fdopen(os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
            handle.write("lab-" + secrets.token_hex(16))
    with open(token_path, encoding="utf-8") as handle:
        token = handle.read().strip()

    services = ServiceUsageState(state_path=os.path.join(state_dir, "serviceusage.json"))
    runtime = PlaneRuntime(state_dir, log, knobs, token)
    state = GkeState(knobs, os.path.join(state_dir, "gke.json"), gpu_quota=gpu_quota, services=services,
                     ca_factory=ClusterPki(state_dir), runtime=runtime)
    gke = LabServer((HOST, 0), type("BoundGke", (GkeHandler,), {"state": state}), "gke", log, knobs,
                    auth_token=token)
    serviceusage = LabServer((HOST, 0), type("BoundServiceUsage", (ServiceUsageHandler,), {"state": services}),
                             "serviceusage", log, knobs, auth_token=token)
    iam_state = IamState(services, workload_pools=state.workload_pools, state_path=os.path.join(state_dir, "iam.json"),
                         token_accounts={token: LAB_ACCOUNT})
    iam = LabServer((HOST, 0), type("BoundIam", (IamHandler,), {"state": iam_state}), "iam", log, knobs,
                    auth_token=token)
    # The clusters' kube-apiservers ask it whose a Google access token is, and what IAM allows its account.
    gke_auth = GkeAuthServer(HOST, os.path.join(state_dir, "gke-auth"), iam_state, log, knobs, token)
    runtime.google_auth = gke_auth.credentials
    gcs = GcsServer((HOST, 0), os.path.join(state_dir, "gcs"), log, knobs, iam=iam_state)
    # Predictors read the model from this GCS as their identity, and are served through the gateways.
    platform = ServingPlatform(state_dir, log, os.path.join(state_dir, "requests.jsonl"), knobs)
    platform.storage, platform.iam = gcs.storage, iam_state
    runtime.platform = platform
    with state.lock:  # clusters that were running before a restart get their control plane back
        for key, cluster in state.clusters.items():
            if cluster["status"] == "RUNNING":
                runtime.start(key, cluster)
                runtime.sync_nodes(key, cluster)
    runtime.write_kubeconfig()
    mirror_dir = os.path.join(state_dir, "mirror")
    write_mirror(mirror_dir, default_versions())
    mirror = MirrorServer((HOST, 0), mirror_dir, log, knobs)
    servers = {"gke": gke, "gcs": gcs, "serviceusage": serviceusage, "iam": iam, "gke_auth": gke_auth, "mirror": mirror}
    for srv in servers.values():
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    endpoints = {"pid": os.getpid(), "token": token, "knobs": knobs.as_dict(),
                 "gke": gke.url, "gcs": gcs.url, "serviceusage": serviceusage.url, "iam": iam.url,
                 "gke_auth": gke_auth.url, "mirror": mirror.url, "project": "kserve-lab"}
    write_private(os.path.join(state_dir, "endpoints.json"), json.dumps(endpoints, indent=2))  # holds the token

    # Stop by itself once nobody has asked anything for idle_timeout seconds,
    # so a forgotten lab never outlives its use.
    while not stop.wait(0.5):
        runtime.save_dirty()
        idle = time.monotonic() - max([s.last_request for s in servers.values()] + [runtime.last_request()])
        if idle > idle_timeout:
            break
    runtime.stop_all()
    platform.stop()
    for srv in servers.values():
        srv.shutdown()
        srv.server_close()
    try:
        os.remove(os.path.join(state_dir, "endpoints.json"))
    except FileNotFoundError:
        pass
