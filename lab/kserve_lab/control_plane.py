# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real Kubernetes control plane for a lab cluster: upstream's etcd, kube-apiserver, kube-controller-manager and
kube-scheduler, with kwok keeping the simulated nodes (its stages: kwok_stages.py; their Pods are the lab's kubelet's,
kubelet.py), all built from their Go modules by scripts/lab-binaries (pinned in lab/go/), listening on loopback only.

The API server gets the cluster's own CA and a serving certificate for its address, a service-account signing
key, and a static token file for the lab's own components (`lab_token`, a `system:masters` identity of their own).
Google access tokens go where GKE sends them: with `google_auth` (the URL of gke_auth.py's webhooks and the
credential to reach them), kube-apiserver asks the lab's token-review webhook whose a token is and authorizes with
RBAC, then the IAM webhook. A bare plane (tests, benches) maps `token` to an administrator in the token file instead.
Everything lives in the cluster's directory; stop() ends both processes, and so does the parent's death
(PR_SET_PDEATHSIG), so a killed lab leaves nothing listening. That signal follows the thread that started them:
call start() from a thread that lives as long as the plane (the main thread, or the lab's own), never from a
request handler's.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .gke_auth import ACCESS_REVIEWS, TOKEN_REVIEWS, webhook_kubeconfig
from .iam import LAB_ACCOUNT
from .kwok_stages import STAGES
from .network import egress_config
from .pki import free_port, key_pem, make_ca, make_serving_cert

# Nodes kwok simulates carry this annotation (a node without it would wait for a kubelet that never comes).
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
# GKE's default Service range for new clusters (the 34.118.224.0/20 block of a VPC-native cluster).
SERVICE_RANGE = "34.118.224.0/20"


LAB_BINARIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lab-binaries")


def pinned_binaries():
    """{name: path} of the binaries at the versions lab/go/ pins, as scripts/lab-binaries (the one reader of those
    pins and of the cache's place) names them; built or not."""
    listed = subprocess.run([LAB_BINARIES, "--paths"], capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in listed.splitlines())


class ControlPlaneError(Exception):
    pass


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ControlPlane:
    """etcd and kube-apiserver for one cluster, in `directory`."""

    def __init__(self, directory, host="127.0.0.1", name="kserve-lab", token=None, issuer=None, egress=None,
                 google_auth=None):
        self.directory, self.host, self.name = directory, host, name
        self.google_auth = google_auth  # (webhooks' URL, their CA PEM, credential), or None: `token` in the token file
        # The Unix socket of the proxy kube-apiserver reaches the cluster network through (network.py), if any.
        self.egress = egress
        # GKE's issuer for a cluster's service-account tokens is its container.googleapis.com URL.
        self.issuer = issuer or "https://container.googleapis.com/v1/projects/lab/locations/lab/clusters/" + name
        self.binaries = pinned_binaries()
        missing = [path for path in self.binaries.values() if not os.access(path, os.X_OK)]
        if missing:
            raise ControlPlaneError("%s not built yet. Fix: scripts/lab-binaries (or make venv) builds them"
                                    % ", ".join(missing))
        self.token = token or secrets.token_urlsafe(32)
        # The lab's own components (the GKE twin registering nodes, its add-on manager) act as an identity of
        # their own, not as the user.
        self.lab_token = secrets.token_urlsafe(32)
        self.port = None
        self.processes = []

    @property
    def server(self):
        return "https://%s:%d" % (self.host, self.port)

    def _path(self, *parts):
        return os.path.join(self.directory, *parts)

    def _write(self, name, data, mode=0o600):
        with open(self._path(name), "wb") as handle:
            handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        os.chmod(self._path(name), mode)

    def _credentials(self):
        """The cluster's CA and serving certificate (kept when the GKE twin made them already: ca.pem, ca.key,
        apiserver.pem, apiserver.key), the service-account signing key (kept across restarts, so tokens already
        issued stay valid), and the token file."""
        if not os.path.exists(self._path("ca.key")):
            ca_cert, ca_key = make_ca("kserve-lab %s" % self.name)
            self._write("ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
            self._write("ca.key", key_pem(ca_key))
        if not os.path.exists(self._path("apiserver.key")):
            with open(self._path("ca.pem"), "rb") as handle:
                ca_cert = x509.load_pem_x509_certificate(handle.read())
            with open(self._path("ca.key"), "rb") as handle:
                ca_key = serialization.load_pem_private_key(handle.read(), None)
            cert, cert_key = make_serving_cert(ca_cert, ca_key, self.host)
            self._write("apiserver.pem", cert.public_bytes(serialization.Encoding.PEM))
            self._write("apiserver.key", key_pem(cert_key))
        if not os.path.exists(self._path("sa.key")):
            signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._write("sa.key", key_pem(signing))
            public = signing.public_key()
            self._write("sa.pub", public.public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
        # token,user,uid,"group"
        lines = ['%s,system:kserve-lab,kserve-lab,"system:masters"\n' % self.lab_token]
        if not self.google_auth:  # a bare plane: the user is an administrator
            lines.append('%s,%s,lab-admin,"system:masters"\n' % (self.token, LAB_ACCOUNT))
        self._write("tokens.csv", "".join(lines))

    def _start(self, name, argv):
        log = open(self._path(name + ".log"), "ab")  # pylint: disable=consider-using-with  # closed in stop()
        # preexec_fn: the only way to set PR_SET_PDEATHSIG; these are Go binaries, no Python runs after the fork.
        proc = subprocess.Popen(  # pylint: disable=subprocess-popen-preexec-fn
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
            cwd=self.directory)
        self.processes.append((name, proc, log))
        return proc

    def start(self, timeout=90, workloads=True):
        """Start etcd, then kube-apiserver; return once /readyz answers ok (or raise with the log's tail). With
        workloads, then kube-controller-manager, kube-scheduler and kwok, which keeps the nodes carrying
        KWOK_NODE_ANNOTATION Ready."""
        os.makedirs(self.directory, exist_ok=True)
        self._credentials()
        etcd_client, etcd_peer = free_port(self.host), free_port(self.host)
        self._start("etcd", [
            self.binaries["etcd"], "--name", "lab", "--data-dir", self._path("etcd-data"),
            "--listen-client-urls", "http://%s:%d" % (self.host, etcd_client),
            "--advertise-client-urls", "http://%s:%d" % (self.host, etcd_client),
            "--listen-peer-urls", "http://%s:%d" % (self.host, etcd_peer),
            "--initial-advertise-peer-urls", "http://%s:%d" % (self.host, etcd_peer),
            "--initial-cluster", "lab=http://%s:%d" % (self.host, etcd_peer),
            "--quota-backend-bytes", str(2 * 1024 ** 3), "--log-level", "warn"])
        self.port = free_port(self.host)
        self._start("kube-apiserver", [
            self.binaries["kube-apiserver"],
            "--etcd-servers", "http://%s:%d" % (self.host, etcd_client),
            "--bind-address", self.host, "--advertise-address", self.host, "--secure-port", str(self.port),
            "--tls-cert-file", self._path("apiserver.pem"), "--tls-private-key-file", self._path("apiserver.key"),
            "--client-ca-file", self._path("ca.pem"), "--token-auth-file", self._path("tokens.csv"),
            *self._google_auth_flags(),
            "--service-account-issuer", self.issuer,
            "--service-account-key-file", self._path("sa.pub"),
            "--service-account-signing-key-file", self._path("sa.key"),
            "--service-cluster-ip-range", SERVICE_RANGE, "--allow-privileged",
            # A node's kubelet is reached at its InternalIP (its Hostname address resolves nowhere here), as GKE does.
            "--kubelet-preferred-address-types", "InternalIP",
            "--cert-dir", self._path("certs"), "--profiling=false", "--v", "1", *self._egress_flags()])
        self._wait_ready(timeout)
        if workloads:
            self._start_workloads()
        return self

    def _google_auth_flags(self):
        if not self.google_auth:
            return ["--authorization-mode", "RBAC"]
        url, ca_pem, credential = self.google_auth
        self._write("token-webhook.yaml", webhook_kubeconfig(url + TOKEN_REVIEWS, ca_pem, credential))
        self._write("authorization-webhook.yaml", webhook_kubeconfig(url + ACCESS_REVIEWS, ca_pem, credential))
        return ["--authentication-token-webhook-config-file", self._path("token-webhook.yaml"),
                "--authentication-token-webhook-version", "v1",
                "--authorization-mode", "RBAC,Webhook",
                "--authorization-webhook-config-file", self._path("authorization-webhook.yaml"),
                "--authorization-webhook-version", "v1"]

    def _egress_flags(self):
        if not self.egress:
            return []
        self._write("egress-selector.yaml", egress_config(self.egress))
        return ["--egress-selector-config-file", self._path("egress-selector.yaml")]

    def _start_workloads(self):
        config = self._path("admin.kubeconfig")
        self._write("admin.kubeconfig", self.kubeconfig(self.lab_token))
        self._write("kwok-stages.yaml", STAGES)
        # --secure-port 0: their health and metrics endpoints serve nothing the lab reads, and a picked port could be
        # taken before they bind it (they exit on that)
        common = ["--kubeconfig", config, "--leader-elect=false", "--bind-address", self.host]
        self._start("kube-controller-manager", [
            self.binaries["kube-controller-manager"], *common, "--secure-port", "0",
            "--service-account-private-key-file", self._path("sa.key"), "--root-ca-file", self._path("ca.pem"),
            "--use-service-account-credentials=false", "--cluster-name", self.name,
            # Node IPAM hands out Pod ranges from --cluster-cidr; the lab's kubelet gives Pods their addresses.
            "--controllers", "*,-nodeipam", "--v", "1"])
        self._start("kube-scheduler", [self.binaries["kube-scheduler"], *common,
                                       "--secure-port", "0", "--v", "1"])
        self._start("kwok", [
            self.binaries["kwok"], "--kubeconfig", config, "--config", self._path("kwok-stages.yaml"), "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector", "%s=%s" % KWOK_NODE_ANNOTATION, "--node-ip", self.host])
        # no --server-address: kwok then serves nothing (kwok v0.8.0 pkg/kwok/cmd/root.go startServer); a port picked
        # here could be taken before kwok binds it, and kwok exits on that, leaving the nodes NotReady

    def _wait_ready(self, timeout):
        context = ssl.create_default_context(cafile=self._path("ca.pem"))
        request = urllib.request.Request(self.server + "/readyz", headers={"Authorization": "Bearer " + self.lab_token})
        deadline, last = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            for name, proc, _log in self.processes:
                if proc.poll() is not None:
                    raise ControlPlaneError("%s exited with %s:\n%s" % (name, proc.returncode, self.log_tail(name)))
            try:
                with urllib.request.urlopen(request, context=context, timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.3)
        raise ControlPlaneError("kube-apiserver not ready after %d s (%s):\n%s"
                                % (timeout, last, self.log_tail("kube-apiserver")))

    def log_tail(self, name, lines=20):
        try:
            with open(self._path(name + ".log"), encoding="utf-8", errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return ""

    def kubeconfig(self, token=None):
        """A kubeconfig (text) for the user (`token`; the lab's components pass theirs), checking the API server
        against the cluster's CA."""
        template = ("apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
                    "clusters:\n- name: lab\n  cluster:\n    server: %s\n    certificate-authority: %s\n"
                    "users:\n- name: admin\n  user:\n    token: %s\n"
                    "contexts:\n- name: lab\n  context: {cluster: lab, user: admin}\n")
        return template % (self.server, self._path("ca.pem"), token or self.token)

    def stop(self):
        for _name, proc, _log in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
        for _name, proc, log in reversed(self.processes):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
        self.processes = []
