# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real control plane the lab's clusters move to (issue 14): upstream's etcd, kube-apiserver,
kube-controller-manager and kube-scheduler, and kwok for nodes, built from their Go modules by
scripts/lab-binaries, started by lab/kserve_lab/control_plane.py, with the lab's kubelet (a client of that API) running
the Pods, and checked with clients no one here wrote:
kubectl (api-resources, explain, server-side apply of a CRD with CEL rules, Deployments and GPU Pods scheduled
on simulated GKE nodes) and helm (install with no extra flag, OpenAPI validation on)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
import threading

import pytest

from conftest import ROOT, until

from kserve_lab.control_plane import ControlPlane, pinned_binaries  # noqa: E402  pylint: disable=wrong-import-position
from kserve_lab.core import Knobs  # noqa: E402  pylint: disable=wrong-import-position
from kserve_lab.kubelet import Kubelet  # noqa: E402  pylint: disable=wrong-import-position
from kserve_lab.planes import api_client  # noqa: E402  pylint: disable=wrong-import-position

HELM = shutil.which("helm") or os.path.join(ROOT, ".venv", "bin", "helm")
CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                min: {type: integer}
                max: {type: integer}
              x-kubernetes-validations:
                - rule: "self.min <= self.max"
                  message: "min must not exceed max"
"""


def widget(low, high):
    return json.dumps({"apiVersion": "example.com/v1", "kind": "Widget",
                       "metadata": {"name": "w%d-%d" % (low, high), "namespace": "default"},
                       "spec": {"min": low, "max": high}})


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    plane = ControlPlane(str(tmp_path_factory.mktemp("control-plane")), name="control-plane-test")
    plane.start()
    config = os.path.join(plane.directory, "kubeconfig")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(plane.kubeconfig())
    os.chmod(config, 0o600)
    stopping = threading.Event()
    Kubelet(api_client(plane), Knobs(), stopping).start()
    yield plane, config
    stopping.set()
    plane.stop()


def run(api, tool, *args, stdin=None):
    config = api[1]
    return subprocess.run([tool, "--kubeconfig", config] + list(args), input=stdin, capture_output=True,
                          text=True, check=False)


def test_the_binaries_are_upstreams_at_the_pinned_versions():
    for name, expected in (("kube-apiserver", "Kubernetes v1."), ("etcd", "etcd Version: 3.")):
        path = pinned_binaries()[name]
        assert expected in subprocess.run([path, "--version"], capture_output=True, text=True,
                                          check=True).stdout


def test_kubectl_version_reports_the_pinned_kubernetes(api):
    proc = run(api, "kubectl", "version", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(ROOT, "lab", "go", "kubernetes", "go.mod"), encoding="utf-8") as handle:
        pinned = next(line.split()[-1] for line in handle if line.startswith("require k8s.io/kubernetes "))
    assert json.loads(proc.stdout)["serverVersion"]["gitVersion"] == pinned


def test_kubectl_api_resources_and_explain_answer_as_on_any_cluster(api):
    proc = run(api, "kubectl", "api-resources", "-o", "name")
    assert proc.returncode == 0, proc.stderr
    names = proc.stdout.split()
    for expected in ("deployments.apps", "customresourcedefinitions.apiextensions.k8s.io", "leases.coordination.k8s.io",
                     "validatingadmissionpolicies.admissionregistration.k8s.io", "pods"):
        assert expected in names
    proc = run(api, "kubectl", "explain", "deployment.spec.strategy.rollingUpdate.maxSurge")
    assert proc.returncode == 0, proc.stderr
    assert "The maximum number of pods that can be scheduled above the desired number" in proc.stdout


def test_a_crds_cel_rule_refuses_a_server_side_apply_that_breaks_it(api):
    proc = run(api, "kubectl", "apply", "--server-side", "-f", "-", stdin=CRD)
    assert proc.returncode == 0, proc.stderr
    proc = run(api, "kubectl", "wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=60s")
    assert proc.returncode == 0, proc.stderr
    refused = run(api, "kubectl", "apply", "--server-side", "-f", "-", stdin=widget(5, 1))
    assert refused.returncode != 0
    assert "min must not exceed max" in refused.stderr
    assert run(api, "kubectl", "apply", "--server-side", "-f", "-", stdin=widget(1, 5)).returncode == 0
    assert run(api, "kubectl", "get", "widgets", "-o", "name").stdout.split() == ["widget.example.com/w1-5"]


def test_helm_installs_with_no_extra_flag_and_validates_against_openapi(api, tmp_path):
    chart = tmp_path / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicas: 1\n")
    (chart / "templates" / "deployment.yaml").write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: "{{ .Release.Name }}"}
        spec:
          replicas: {{ .Values.replicas }}
          selector: {matchLabels: {app: demo}}
          template:
            metadata: {labels: {app: demo}}
            spec:
              containers: [{name: demo, image: registry.k8s.io/pause:3.10}]
        """))
    installed = run(api, HELM, "install", "demo", str(chart), "--namespace", "default")
    assert installed.returncode == 0, installed.stderr
    assert "STATUS: deployed" in installed.stdout
    bad = run(api, HELM, "install", "bad", str(chart), "--namespace", "default", "--set-string", "replicas=two")
    assert bad.returncode != 0
    assert "replicas" in bad.stderr


def node(name, allocatable, labels=None, taints=None):
    """A node kwok runs Pods for, with what GKE's kubelet would report as allocatable."""
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": dict({"kubernetes.io/hostname": name}, **(labels or {}))},
            "spec": {"taints": taints or []}}, {"status": {"allocatable": allocatable, "capacity": allocatable}}


def gpu_pod(name):
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                       "spec": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                                "nodeSelector": {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
                                "containers": [{"name": "cuda", "image": "nvidia/cuda:12.4.1-base-ubuntu22.04",
                                                "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}})


def test_kube_scheduler_binds_pods_to_simulated_gke_nodes_and_the_lab_kubelet_runs_them(api):
    """kube-controller-manager makes a Deployment's Pods, kube-scheduler binds them by CPU, memory, taints and
    nvidia.com/gpu, kwok keeps the nodes Ready and the lab's kubelet runs the Pods; what does not fit stays Pending with kube-scheduler's own words."""
    for name, allocatable, labels, taints in (
            ("system-1", {"cpu": "3920m", "memory": "13Gi", "pods": "110"}, {}, []),
            ("gpu-1", {"cpu": "3920m", "memory": "13Gi", "pods": "110", "nvidia.com/gpu": "1"},
             {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
             [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}])):
        obj, status = node(name, allocatable, labels, taints)
        assert run(api, "kubectl", "apply", "-f", "-", stdin=json.dumps(obj)).returncode == 0
        patched = run(api, "kubectl", "patch", "node", name, "--subresource=status", "--type=merge",
                      "-p", json.dumps(status))
        assert patched.returncode == 0, patched.stderr
    proc = run(api, "kubectl", "wait", "--for=condition=Ready", "node/system-1", "node/gpu-1", "--timeout=60s")
    assert proc.returncode == 0, proc.stderr
    assert run(api, "kubectl", "create", "deployment", "web", "--image=registry.k8s.io/pause:3.10",
               "--replicas=2").returncode == 0
    proc = run(api, "kubectl", "wait", "--for=condition=Available", "deployment/web", "--timeout=90s")
    assert proc.returncode == 0, proc.stderr + run(api, "kubectl", "get", "pods", "-o", "wide").stdout
    placed = run(api, "kubectl", "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.nodeName}").stdout
    assert placed.split() == ["system-1", "system-1"]  # the GPU node's taint keeps them off it
    for name in ("gpu-a", "gpu-b"):
        assert run(api, "kubectl", "apply", "-f", "-", stdin=gpu_pod(name)).returncode == 0
    proc = run(api, "kubectl", "wait", "--for=condition=Ready", "pod/gpu-a", "--timeout=60s")
    assert proc.returncode == 0, proc.stderr
    assert run(api, "kubectl", "get", "pod", "gpu-a", "-o", "jsonpath={.spec.nodeName}").stdout == "gpu-1"
    proc = run(api, "kubectl", "wait", "--for=condition=PodScheduled=false", "pod/gpu-b", "--timeout=60s")
    assert proc.returncode == 0, proc.stderr
    # kube-scheduler records its event through an asynchronous broadcaster, after or before the condition
    wanted = "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) didn't match Pod's node affinity/selector"
    until("kube-scheduler's FailedScheduling event", lambda: wanted in run(
        api, "kubectl", "get", "events", "--field-selector", "involvedObject.name=gpu-b,reason=FailedScheduling",
        "-o", "jsonpath={.items[*].message}").stdout)
    assert run(api, "kubectl", "delete", "pod", "gpu-a", "--timeout=60s").returncode == 0
    proc = run(api, "kubectl", "wait", "--for=condition=Ready", "pod/gpu-b", "--timeout=60s")
    assert proc.returncode == 0, proc.stderr  # the freed GPU goes to the Pod that waited for it
