# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node's kubelet serves the API server, for the lab's simulated nodes: container logs.

kwok runs the simulated nodes' Pods (kwok_stages.py) but no processes, so no Pod prints anything; the lab decides
what a container would have printed (container_log) and serves it the way a kubelet does, on the port each node
reports in status.daemonEndpoints.kubeletEndpoint: kube-apiserver asks
GET /containerLogs/<namespace>/<pod>/<container> for `kubectl logs` and the Pod log API (its own checks of the
container name have run by then), over TLS. One server per cluster answers for all of its nodes (every simulated
node has the same InternalIP, 127.0.0.1).

What is printed: a container running nvidia-smi with a GPU gets nvidia-smi's table for its node's GPU; anything else
prints nothing.
"""

from __future__ import annotations

import json
import ssl
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


def container_log(pod, node, container):
    """What `container` of `pod` on `node` printed (see the module's docstring)."""
    spec = pod.get("spec") or {}
    for item in spec.get("containers") or []:
        if item["name"] == container:
            words = (item.get("command") or []) + (item.get("args") or [])
            if any("nvidia-smi" in word for word in words) and gpu_request(spec):
                return nvidia_smi(node)
    return ""


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
                text = container_log(*found, container)
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
    Node (api_reader), or None."""

    daemon_threads = True

    def __init__(self, host, certfile, keyfile, read):
        if not host.startswith("127."):
            raise ValueError("the lab binds to 127.0.0.0/8 only, not %s" % host)
        super().__init__((host, 0), KubeletHandler)
        self.read = read
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self.socket = context.wrap_socket(self.socket, server_side=True)

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
