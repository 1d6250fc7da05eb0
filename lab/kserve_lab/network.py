# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster network as a lab cluster's kube-apiserver reaches it.

On GKE the control plane reaches webhooks, kubelets and aggregated APIs inside the cluster through Konnectivity;
here kube-apiserver's egress selector (`cluster`, HTTPConnect over a Unix socket in the cluster's directory) sends
that traffic to this proxy, so none of it leaves the lab (without it kube-apiserver resolves
`<service>.<namespace>.svc` through the machine's DNS). The proxy answers each `CONNECT host:port`:
- a node's InternalIP at the kubelet port: the lab's kubelet (kubelet.py);
- a Service (`name.namespace.svc[.cluster.local]` or its ClusterIP) at one of its ports: refused as kube-proxy
  refuses a Service without ready endpoints ("connection refused"), else passed to whatever the lab runs for that
  Service's Pods (`serve()`); a Service whose Pods the lab runs nothing for refuses too, as a Pod that does not
  listen does;
- anything else: refused.
A refusal is a non-200 answer whose status text kube-apiserver puts in its error, e.g. "failed calling webhook ...:
proxy error from ... while dialing istiod.istio-system.svc:443, code 503: 503 dial tcp 34.118.227.56:443: connect:
connection refused".
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading

from .watching import has_ready_endpoint

SERVICE_SUFFIXES = (".svc.cluster.local", ".svc")


class ConnectHandler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(8192).decode("latin-1").split()
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass
        if len(line) < 2 or line[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 only CONNECT\r\n\r\n")
            return
        try:
            target, refusal = self.server.resolve(line[1])
        except Exception as exc:  # pylint: disable=broad-except  # the API unreachable: say so, as a dial error
            target, refusal = None, "dial tcp %s: %s" % (line[1], str(exc).splitlines()[0] if str(exc) else exc)
        if target is None:
            self.wfile.write(("HTTP/1.1 503 %s\r\n\r\n" % refusal).encode())
            return
        try:
            upstream = socket.create_connection(target, timeout=10)
        except OSError as exc:
            self.wfile.write(("HTTP/1.1 503 dial tcp %s:%d: %s\r\n\r\n" % (target[0], target[1], exc)).encode())
            return
        upstream.settimeout(None)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        pipe(self.connection, upstream)


def pipe(one, other):
    """Copy bytes both ways until either side closes."""
    def copy(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
    back = threading.Thread(target=copy, args=(other, one), daemon=True)
    back.start()
    copy(one, other)
    back.join()
    other.close()


class ClusterNetwork(socketserver.ThreadingUnixStreamServer):
    """The egress proxy of one cluster, listening on `path`; `api` a kubernetes client ApiClient."""

    daemon_threads = True

    def __init__(self, path, api=None, node_ips=("127.0.0.1",)):
        if os.path.exists(path):
            os.remove(path)
        super().__init__(path, ConnectHandler)
        os.chmod(path, 0o600)
        self.api = api
        self.node_ips = set(node_ips)
        self.kubelet_port = None
        self.served = {}  # (namespace, service, port) -> (host, port) of what the lab runs for its Pods
        self.ensure = lambda: None  # brings what is due into `served` (webhooks.Webhooks.ensure)

    def serve(self, namespace, service, port, address):
        """What the lab runs for a Service's Pods answers at `address` for the Service's `port`."""
        self.served[(namespace, service, int(port))] = address

    def resolve(self, hostport):
        """(host, port) to connect to for a CONNECT target, or (None, the refusal's status text)."""
        host, _sep, port_text = hostport.rpartition(":")
        port = int(port_text) if port_text.isdigit() else 0
        refused = "dial tcp %s: connect: connection refused" % hostport
        if host in self.node_ips:
            if port == self.kubelet_port:
                return ("127.0.0.1", self.kubelet_port), ""
            return None, refused
        service = self._service(host)
        if service is None:
            return None, "dial tcp: lookup %s: no such host" % host
        namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
        refused = "dial tcp %s:%d: connect: connection refused" % (service["spec"].get("clusterIP", host), port)
        if not any(p.get("port") == port for p in service["spec"].get("ports") or []):
            return None, refused
        if not self.ready_endpoints(namespace, name):
            return None, refused
        if (namespace, name, port) not in self.served:
            self.ensure()
        address = self.served.get((namespace, name, port))
        return (address, "") if address else (None, refused)

    def _get(self, path):
        from kubernetes.client import CoreV1Api
        from kubernetes.client.exceptions import ApiException
        core = CoreV1Api(self.api)
        try:
            return path(core)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _service(self, host):
        for suffix in SERVICE_SUFFIXES:
            if host.endswith(suffix):
                parts = host[:-len(suffix)].split(".")
                if len(parts) == 2:
                    answer = self._get(lambda core: core.read_namespaced_service(
                        parts[0], parts[1], _preload_content=False))
                    return json.loads(answer.data) if answer is not None else None
                return None
        listed = json.loads(self._get(lambda core: core.list_service_for_all_namespaces(
            _preload_content=False)).data)["items"]
        return next((s for s in listed if s["spec"].get("clusterIP") == host), None)

    def ready_endpoints(self, namespace, name):
        return has_ready_endpoint(self.api, namespace, name)


def egress_config(socket_path):
    """kube-apiserver's EgressSelectorConfiguration (apiserver.k8s.io/v1beta1) sending the `cluster` traffic to
    the proxy at socket_path."""
    return ("apiVersion: apiserver.k8s.io/v1beta1\nkind: EgressSelectorConfiguration\negressSelections:\n"
            "- name: cluster\n  connection:\n    proxyProtocol: HTTPConnect\n    transport:\n"
            "      uds:\n        udsName: %s\n" % socket_path)
