# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's clusters on real control planes (issue 14): the gke_cluster role
creates a cluster through the GKE twin and gets upstream's kube-apiserver behind the endpoint GKE reported, with
nodes registered as GKE registers them, GKE's kube-system workloads, Pod logs from the nodes' kubelet port, and
the lab's request log and injected faults at the front. Checked with kubectl."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import Lab, lab_processes, until

from kserve_lab.gke_nodes import resources  # pylint: disable=wrong-import-order
from kserve_lab.iam import LAB_ACCOUNT  # pylint: disable=wrong-import-order
from kserve_lab.k8s_quantity import parse  # pylint: disable=wrong-import-order

NVIDIA_SMI_POD = """
apiVersion: v1
kind: Pod
metadata: {name: smi}
spec:
  restartPolicy: Never
  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  containers:
  - name: smi
    image: nvidia/cuda:12.4.1-base-ubuntu22.04
    command: [nvidia-smi]
    resources: {limits: {nvidia.com/gpu: 1}}
"""
TWO_CONTAINERS = """
apiVersion: v1
kind: Pod
metadata: {name: pair}
spec:
  containers:
  - {name: one, image: busybox}
  - {name: two, image: busybox}
"""


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    instance = Lab(tmp_path_factory.mktemp("lab"))
    instance.run("up", "--idle-timeout", "600")
    pid = instance.endpoints["pid"]
    yield instance.converged("gke_cluster")
    instance.run("down")
    assert not instance.pid_alive(pid), "the lab left a process behind"
    assert lab_processes(instance.directory) == [], "a control plane outlived the lab"


def kubectl(lab, *args, stdin=None, check=True):
    proc = subprocess.run(["kubectl", "--kubeconfig", os.path.join(lab.directory, "kserve-gke.kubeconfig")]
                          + list(args), input=stdin, capture_output=True, text=True, check=False)
    assert not check or proc.returncode == 0, proc.stderr
    return proc


def test_the_endpoint_gke_reports_is_upstreams_api_server(real):
    version = json.loads(kubectl(real, "version", "-o", "json").stdout)["serverVersion"]
    assert version["gitVersion"] == "v1.35.4"  # the pin in lab/go/kubernetes
    # an API only a real 1.35 server has (the hand-written one the lab had before never served it)
    assert "validatingadmissionpolicies.admissionregistration.k8s.io" in kubectl(
        real, "api-resources", "-o", "name").stdout.split()


def test_google_access_tokens_are_checked_with_the_iam_twin_as_gke_checks_them(real):
    before = len(real.requests())
    whoami = json.loads(kubectl(real, "auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]
    assert whoami == {"username": LAB_ACCOUNT, "groups": ["system:authenticated"]}  # not system:masters
    stranger = real.kubeconfig_with_token("ya29.not-a-token-google-issued",
                                          os.path.join(real.directory, "stranger.kubeconfig"))
    refused = subprocess.run(["kubectl", "--kubeconfig", stranger, "get", "namespaces"], capture_output=True,
                             text=True, check=False)
    assert refused.returncode != 0 and "You must be logged in to the server (Unauthorized)" in refused.stderr
    reviews = [r for r in real.requests()[before:] if r["service"] == "gke-auth"]
    assert reviews and {r["path"] for r in reviews} >= {"/apis/authentication.k8s.io/v1/tokenreviews"}
    assert not any(r["mutating"] for r in reviews)  # a review stores nothing: idempotence checks ignore it


def test_iam_allows_the_projects_owner_and_names_what_other_accounts_lack(real):
    assert kubectl(real, "auth", "can-i", "escalate", "clusterroles").stdout.strip() == "yes"
    other = kubectl(real, "get", "pods", "-n", "default", "--as", "analyst@example.com", check=False)
    assert other.returncode != 0
    assert ('pods is forbidden: User "analyst@example.com" cannot list resource "pods" in API group "" in the '
            'namespace "default": requires one of ["container.pods.list"] permission(s).') in other.stderr
    # IAM has no opinion on the cluster's own identities: RBAC alone answers, in its words
    ksa = kubectl(real, "get", "pods", "-n", "default", "--as", "system:serviceaccount:default:default", check=False)
    assert ksa.returncode != 0 and ksa.stderr.strip().endswith('in the namespace "default"')
    # RBAC still grants what IAM does not
    kubectl(real, "create", "rolebinding", "analyst-view", "-n", "default", "--clusterrole", "view",
            "--user", "analyst@example.com")
    assert kubectl(real, "get", "pods", "-n", "default", "--as", "analyst@example.com").returncode == 0


def test_nodes_are_registered_as_gke_registers_them(real):
    nodes = {n["metadata"]["labels"]["cloud.google.com/gke-nodepool"]: n
             for n in json.loads(kubectl(real, "get", "nodes", "-o", "json").stdout)["items"]}
    assert set(nodes) == {"system", "gpu"}
    gpu = nodes["gpu"]
    assert gpu["metadata"]["labels"]["cloud.google.com/gke-accelerator"] == "nvidia-tesla-t4"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in gpu["spec"]["taints"]
    capacity, allocatable = resources("n1-standard-4")
    assert parse(gpu["status"]["capacity"]["cpu"]) == parse(capacity["cpu"])
    # the API server writes quantities in their canonical form (13004800Ki comes back as 12700Mi)
    assert parse(gpu["status"]["allocatable"]["memory"]) == parse(allocatable["memory"])
    ready = {c["type"]: c["status"] for c in gpu["status"]["conditions"]}
    assert ready["Ready"] == "True"  # reported by kwok, as a kubelet does
    assert "nvidia.com/gpu" not in nodes["system"]["status"]["allocatable"]

    def gpus():
        node = json.loads(kubectl(real, "get", "node", gpu["metadata"]["name"], "-o", "json").stdout)
        return node["status"]["allocatable"].get("nvidia.com/gpu") == "1"
    until("allocatable GPU", gpus)


def test_gke_system_workloads_run_on_the_nodes(real):
    def available():
        deployments = json.loads(kubectl(real, "-n", "kube-system", "get", "deployments", "-o", "json").stdout)
        return {d["metadata"]["name"]: d["status"].get("availableReplicas") for d in deployments["items"]}
    assert until("kube-dns available", lambda: available().get("kube-dns") == 2)
    daemonsets = json.loads(kubectl(real, "-n", "kube-system", "get", "daemonsets", "-o", "json").stdout)["items"]
    plugin = next(d for d in daemonsets if d["metadata"]["name"] == "nvidia-gpu-device-plugin-small-cos")
    assert plugin["status"]["desiredNumberScheduled"] == 1  # on the GPU node only, by GKE's node affinity


def test_pod_logs_come_from_the_nodes_kubelet_port(real):
    assert kubectl(real, "apply", "-f", "-", stdin=NVIDIA_SMI_POD).returncode == 0
    until("nvidia-smi to succeed", lambda: kubectl(real, "get", "pod", "smi", "-o", "jsonpath={.status.phase}")
          .stdout == "Succeeded")
    printed = kubectl(real, "logs", "smi").stdout
    assert "NVIDIA-SMI" in printed and "Tesla T4" in printed
    assert kubectl(real, "logs", "smi", "--tail", "2").stdout.count("\n") == 2
    kubectl(real, "apply", "-f", "-", stdin=TWO_CONTAINERS)
    # kubectl picks the first container itself; the API, asked without one, refuses as upstream does
    refused = kubectl(real, "get", "--raw", "/api/v1/namespaces/default/pods/pair/log", check=False)
    assert refused.returncode != 0
    assert "a container name must be specified for pod pair, choose one of: [one two]" in refused.stderr


def test_the_front_logs_requests_and_marks_dry_runs(real):
    before = len(real.requests())
    kubectl(real, "create", "namespace", "probe", "--dry-run=server")
    kubectl(real, "get", "namespaces")
    seen = [r for r in real.requests()[before:] if r["service"] == "k8s"]
    dry = [r for r in seen if r["method"] == "POST"]
    assert dry and all(r.get("dryRun") and not r["mutating"] for r in dry), seen
    assert any(r["method"] == "GET" and r["path"] == "/api/v1/namespaces" and r["status"] == 200 for r in seen)
    assert real.writes(before) == []


def test_exec_is_refused_with_the_reason(real):
    proc = kubectl(real, "exec", "pair", "-c", "one", "--", "true", check=False)
    assert proc.returncode != 0
    assert "does not pass protocol upgrades" in proc.stderr, proc.stderr


def test_faults_are_injected_at_the_front_and_objects_survive_a_restart(real):
    env = real.env
    real.run("knobs", "--fault", "k8s=1.0:503")
    real.run("down")
    real.run("up", "--idle-timeout", "600")
    try:
        proc = kubectl(real, "get", "pods", "--request-timeout", "5s", check=False)
        assert proc.returncode != 0 and "injected fault" in proc.stderr, proc.stderr
        assert any(r.get("fault") == "503" and r["service"] == "k8s" for r in real.requests())
    finally:
        real.run("knobs")
        real.run("down")
        real.run("up", "--idle-timeout", "600")
    assert env == real.env
    # etcd kept the objects; the kubelet's new port reached the nodes, so logs still come
    assert "NVIDIA-SMI" in kubectl(real, "logs", "smi").stdout


GUARDED = """
apiVersion: v1
kind: Namespace
metadata: {name: guarded, labels: {guard: "yes"}}
---
apiVersion: v1
kind: Service
metadata: {name: guard, namespace: guarded}
spec:
  selector: {app: guard}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: guard}
webhooks:
- name: guard.lab.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  namespaceSelector: {matchLabels: {guard: "yes"}}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
  clientConfig: {service: {name: guard, namespace: guarded, path: /validate}}
"""
GUARD_SERVER = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: guard, namespace: guarded}
spec:
  selector: {matchLabels: {app: guard}}
  template:
    metadata: {labels: {app: guard}}
    spec:
      containers: [{name: guard, image: example.com/guard:1}]
"""


def test_webhooks_are_called_through_the_labs_network_once_their_pods_run(real):
    """kube-apiserver calls a webhook through the lab's egress proxy: refused while its Service has no ready Pod,
    as on GKE; then served, with the CA written into the registration as the components do."""
    kubectl(real, "apply", "-f", "-", stdin=GUARDED)
    refused = kubectl(real, "-n", "guarded", "create", "configmap", "early", check=False)
    assert refused.returncode != 0
    assert 'failed calling webhook "guard.lab.example.com"' in refused.stderr, refused.stderr
    assert "connection refused" in refused.stderr, refused.stderr
    kubectl(real, "apply", "-f", "-", stdin=GUARD_SERVER)
    until("the CA injected", lambda: kubectl(real, "get", "validatingwebhookconfiguration", "guard", "-o",
                                             "jsonpath={.webhooks[0].clientConfig.caBundle}").stdout)
    until("the webhook to admit", lambda: kubectl(real, "-n", "guarded", "create", "configmap", "late",
                                                  check=False).returncode == 0)


def test_a_load_balancer_service_gets_an_address_of_the_clusters_block(real):
    kubectl(real, "-n", "guarded", "expose", "deployment", "guard", "--name", "edge", "--type", "LoadBalancer",
            "--port", "80")
    address = until("an address", lambda: kubectl(real, "-n", "guarded", "get", "service", "edge", "-o",
                                                  "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout)
    block = address.rsplit(".", 1)[0]
    assert address.startswith("127.") and block != "127.0.0", address
