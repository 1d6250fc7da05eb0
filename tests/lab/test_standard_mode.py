# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KServe's Standard mode on GKE, end to end: no Istio, no Knative; each InferenceService gets an Ingress
that GKE's own Ingress controller serves (no spec.ingressClassName, which GKE ignores), its load balancer
health-checks the model on the readiness probe's path, and the model answers through it by Host header.
The lab's GKE Ingress twin serves what GKE serves and nothing more, checked here with kubectl."""
from __future__ import annotations

import json
import os
import subprocess
import time

import numpy
import pytest
from PIL import Image

from conftest import PLAYBOOK, ROOT
from test_inference_service_role import gateway_call, get_isvc

STANDARD = ("-e", "kserve_deployment_mode=Standard")
PICTURES = os.path.join(ROOT, "samples", "images")


@pytest.fixture(scope="module")
def served(lab):
    proc = lab.play("gke_cluster,nvidia_driver,cert_manager,kserve,gcs_model,inference_service", *STANDARD)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return lab, proc


def picture(name):
    with Image.open(os.path.join(PICTURES, name)) as image:
        pixels = numpy.asarray(image.convert("RGB").resize((128, 128)), dtype="float32") / 255.0
    return json.dumps({"instances": [{"conv2d_input": pixels.tolist()}]}).encode()


def ingress(cluster, name="dogs-vs-cats"):
    return json.loads(cluster.kubectl("-n", "models", "get", "ingress", name, "-o", "json"))


def test_kserve_makes_an_ingress_gke_serves_and_the_model_answers_through_it(served):
    cluster, proc = served
    found = ingress(cluster)
    assert "ingressClassName" not in found["spec"]  # what GKE ignores is not written
    address = found["status"]["loadBalancer"]["ingress"][0]["ip"]
    host = "dogs-vs-cats-models.example.com"
    assert get_isvc(cluster, "dogs-vs-cats")["status"]["url"] == "http://" + host
    assert "is Ready at http://%s (without DNS: http://%s with Host: %s)" % (host, address, host) in " ".join(
        proc.stdout.split())
    assert {rule["host"] for rule in found["spec"]["rules"]} == {host, "dogs-vs-cats-predictor-models.example.com"}
    status, body = gateway_call(address, host, "/v1/models/dogs-vs-cats:predict", picture("cat-1.jpg"))
    assert status == 200, body
    scores = json.loads(body)["predictions"][0]
    assert scores.index(max(scores)) == 0  # index 0 is Cat
    assert gateway_call(address, "nobody.example.com", "/") == (404, b"default backend - 404")
    assert "namespace/istio-system" not in cluster.kubectl("get", "namespaces", "-o", "name")


def test_the_smoke_test_finds_the_ingress_on_its_own(served):
    cluster, _proc = served
    env = cluster.client_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([PLAYBOOK, "playbooks/smoke_test.yml", "-i", "inventories/lab", *STANDARD], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "8 pictures classified right" in proc.stdout


def test_the_second_run_writes_nothing(served):
    cluster, _proc = served
    cluster.assert_rerun_changes_nothing("cert_manager,kserve,gcs_model,inference_service", *STANDARD)


def test_a_gke_class_in_ingress_class_name_is_refused_before_any_write(served):
    cluster, _proc = served
    before = len(cluster.requests())
    proc = cluster.play("kserve", *STANDARD, "-e", "kserve_ingress_class_name=gce")
    assert proc.returncode != 0
    assert "kserve_ingress_class_name: 'gce' would be written into spec.ingressClassName" in proc.stdout
    assert cluster.writes(before) == []


INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %(name)s, namespace: models%(annotations)s}
spec:%(klass)s
  rules:
    - host: %(name)s.example.com
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: dogs-vs-cats-predictor, port: {number: 80}}}}]
"""


def test_the_gke_ingress_twin_serves_what_gke_serves(served):
    """The annotation gce, or no class at all: served. A class only in spec.ingressClassName: ignored, as
    KServe's Ingress was when the collection wrote ingressClassName gce."""
    cluster, _proc = served
    cases = {"by-annotation": (",\n  annotations: {kubernetes.io/ingress.class: gce}", ""),
             "by-class-name": ("", "\n  ingressClassName: gce")}
    for name, (annotations, klass) in cases.items():
        applied = cluster.kubectl_apply(INGRESS % {"name": name, "annotations": annotations, "klass": klass})
        assert applied.returncode == 0, applied.stderr
    cluster.kubectl("-n", "models", "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}",
                    "ingress/by-annotation", "--timeout=60s")
    time.sleep(2)  # well past the lab's load balancer delay
    assert not (ingress(cluster, "by-class-name").get("status") or {}).get("loadBalancer", {}).get("ingress")


def test_without_an_http_readiness_probe_gke_health_checks_slash_and_answers_502(served):
    """KServe's default probe is TCP, so GKE's load balancer checks GET /, where TF Serving answers 404:
    the reason the role sets an HTTP probe on the model's status in Standard mode."""
    cluster, _proc = served
    tcp = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
           "metadata": {"name": "tcp-probed", "namespace": "models"},
           "spec": {"predictor": {"serviceAccountName": "kserve-predictor", "model": {
               "modelFormat": {"name": "tensorflow"},
               "storageUri": "gs://kserve-lab-models/models/dogs-vs-cats"}}}}
    assert cluster.kubectl_apply(json.dumps(tcp)).returncode == 0
    cluster.kubectl("-n", "models", "wait", "--for=condition=Ready", "inferenceservice/tcp-probed", "--timeout=120s")
    cluster.kubectl("-n", "models", "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}",
                    "ingress/tcp-probed", "--timeout=60s")
    address = ingress(cluster, "tcp-probed")["status"]["loadBalancer"]["ingress"][0]["ip"]
    status, body = gateway_call(address, "tcp-probed-models.example.com", "/v1/models/tcp-probed")
    assert status == 502 and b"Server Error" in body
    cluster.kubectl("-n", "models", "delete", "inferenceservice/tcp-probed", "--wait=true")
