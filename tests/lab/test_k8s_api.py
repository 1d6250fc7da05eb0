# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab cluster's Kubernetes API (upstream's kube-apiserver behind the endpoint GKE reports), driven by the real
kubectl."""
from __future__ import annotations

import json
import subprocess
import time

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient import discovery

PARENT = "projects/kserve-lab/locations/us-central1-a"
CONTEXT = "gke_kserve-lab_us-central1-a_lab"
MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: kserve}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer, minimum: 1}
"""


@pytest.fixture(scope="module")
def cluster(lab):
    env = lab.client_env()
    usage = discovery.build("serviceusage", "v1", credentials=Credentials(lab.endpoints["token"]),
                            client_options={"api_endpoint": lab.endpoints["serviceusage"] + "/"},
                            static_discovery=True, cache_discovery=False)
    usage.services().enable(name="projects/kserve-lab/services/container.googleapis.com", body={}).execute()
    container = discovery.build("container", "v1", credentials=Credentials(lab.endpoints["token"]),
                                client_options={"api_endpoint": lab.endpoints["gke"] + "/"},
                                static_discovery=True, cache_discovery=False)
    pool = {"name": "gpu", "initialNodeCount": 2, "config": {"machineType": "n1-standard-4", "accelerators": [
        {"acceleratorCount": "1", "acceleratorType": "nvidia-tesla-t4",
         "gpuDriverInstallationConfig": {"gpuDriverVersion": "DEFAULT"}}]}}
    system = {"name": "system", "initialNodeCount": 1, "config": {"machineType": "e2-standard-4"}}
    op = container.projects().locations().clusters().create(
        parent=PARENT, body={"cluster": {"name": "lab", "nodePools": [system, pool]}}).execute()
    while op["status"] != "DONE":
        time.sleep(0.2)
        op = container.projects().locations().operations().get(name=PARENT + "/operations/" + op["name"]).execute()
    return env


def kubectl(env, *args, stdin=None):
    return subprocess.run(["kubectl", "--context", CONTEXT] + list(args), input=stdin, capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_nodes_carry_gke_labels_taints_and_gpus_once_drivers_are_in(cluster):
    deadline = time.monotonic() + 30
    while True:
        nodes = json.loads(kubectl(cluster, "get", "nodes", "-o", "json").stdout)["items"]
        gpu_nodes = [n for n in nodes if n["metadata"]["labels"].get("cloud.google.com/gke-nodepool") == "gpu"]
        if all("nvidia.com/gpu" in n["status"]["allocatable"] for n in gpu_nodes) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(nodes) == 3 and len(gpu_nodes) == 2
    for node in gpu_nodes:
        assert node["metadata"]["labels"]["cloud.google.com/gke-accelerator"] == "nvidia-tesla-t4"
        assert node["metadata"]["labels"]["cloud.google.com/gke-gpu-driver-version"] == "default"
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in node["spec"]["taints"]
        assert node["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    (system,) = [n for n in nodes if n not in gpu_nodes]
    assert "taints" not in system["spec"] and "nvidia.com/gpu" not in system["status"]["allocatable"]


def test_server_side_apply_crd_established_and_idempotent(cluster):
    first = kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=MANIFESTS)
    assert first.returncode == 0, first.stderr
    wait = kubectl(cluster, "wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s")
    assert wait.returncode == 0, wait.stderr
    before = kubectl(cluster, "get", "crd/widgets.example.com", "-o", "jsonpath={.metadata.resourceVersion}").stdout
    assert kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=MANIFESTS).returncode == 0
    after = kubectl(cluster, "get", "crd/widgets.example.com", "-o", "jsonpath={.metadata.resourceVersion}").stdout
    assert before == after  # a no-op apply writes nothing


def test_custom_resources_are_validated_and_conflicts_reported(cluster):
    kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=MANIFESTS)
    kubectl(cluster, "wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s")
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: kserve}\nspec: {%s}\n"
    unknown = kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=widget % "size: 2, colour: red")
    assert ".spec.colour: field not declared in schema" in unknown.stderr, unknown.stderr  # server-side apply's words
    wrong = kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=widget % "size: big")
    assert ".spec.size: expected numeric (int or float), got string" in wrong.stderr, wrong.stderr
    assert kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=widget % "size: 2").returncode == 0
    other = kubectl(cluster, "apply", "--server-side", "--field-manager=other", "-f", "-", stdin=widget % "size: 5")
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.size' in other.stderr, other.stderr
    forced = kubectl(cluster, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-",
                     stdin=widget % "size: 5")
    assert forced.returncode == 0
    assert kubectl(cluster, "get", "wg", "w1", "-n", "kserve", "-o", "jsonpath={.spec.size}").stdout == "5"


def test_refusals_and_dry_run(cluster):
    missing = kubectl(cluster, "apply", "--server-side", "-f", "-",
                      stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nowhere}\n")
    assert 'namespaces "nowhere" not found' in missing.stderr
    dry = kubectl(cluster, "apply", "--server-side", "--dry-run=server", "-f", "-",
                  stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry, namespace: default}\n")
    assert "server dry run" in dry.stdout
    assert "NotFound" in kubectl(cluster, "get", "cm", "dry").stderr
    # Only for kinds the server does not serve, kubectl wants protobuf /openapi/v2 (see docs/lab.md).
    assert "no matches for kind" in kubectl(cluster, "apply", "--server-side", "--validate=false", "-f", "-", stdin=(
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: default}\n")).stderr


def test_finalizers_hold_deletion_until_removed(cluster):
    kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: default, finalizers: [lab/hold]}\n"))
    kubectl(cluster, "delete", "cm", "held", "--wait=false")
    stamp = kubectl(cluster, "get", "cm", "held", "-o", "jsonpath={.metadata.deletionTimestamp}").stdout
    assert stamp
    kubectl(cluster, "patch", "cm", "held", "--type", "merge", "-p", '{"metadata":{"finalizers":null}}')
    assert "NotFound" in kubectl(cluster, "get", "cm", "held").stderr


def test_deleting_a_namespace_with_objects_in_it_succeeds_and_takes_them_along(cluster):
    kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: doomed}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: inside, namespace: doomed}\n"))
    deleted = kubectl(cluster, "delete", "namespace", "doomed", "--wait=true", "--timeout=30s")
    assert deleted.returncode == 0, deleted.stderr
    assert "NotFound" in kubectl(cluster, "get", "namespace", "doomed").stderr
    assert "NotFound" in kubectl(cluster, "-n", "doomed", "get", "cm", "inside").stderr
