# -*- coding: utf-8 -*-
"""The stack after converge and idempotence, read back with the real clients.

Every check reads the lab cluster with kubectl (on the kubeconfig the
gke_cluster role wrote), the lab's IAM with gcloud, or asks the model through
the ingress gateway with urllib, never the collection's own code; the request
log shows the second run sent no write.
"""
from __future__ import annotations

import json
import os

import pytest

LAB = os.environ["KSERVE_LAB_DIR"]
KUBECONFIG = os.path.join(LAB, "kserve-gke.kubeconfig")


def kubectl(host, *args):
    result = host.run("kubectl --kubeconfig %s %s" % (KUBECONFIG, " ".join("'%s'" % a for a in args)))
    assert result.rc == 0, result.stderr
    return result.stdout


def get(host, *args):
    return json.loads(kubectl(host, "get", *args, "-o", "json"))


def test_the_second_run_sent_no_write(host):
    with open(os.path.join(LAB, "molecule-marks"), encoding="utf-8") as handle:
        marks = [int(line.split()[0]) for line in handle]
    assert len(marks) >= 2, "converge and idempotence each leave a mark"
    with open(os.path.join(LAB, "requests.jsonl"), encoding="utf-8") as handle:
        second = [json.loads(line) for line in handle][marks[0]:marks[1]]
    assert second, "the second run sent requests (it reads)"
    assert [r for r in second if r["mutating"]] == []


@pytest.mark.parametrize("namespace, deployments", [
    ("istio-system", ["istiod", "istio-ingressgateway"]),
    ("knative-serving", ["activator", "autoscaler", "controller", "webhook", "net-istio-controller",
                         "net-istio-webhook"]),
    ("cert-manager", ["cert-manager", "cert-manager-cainjector", "cert-manager-webhook"]),
    ("kserve", ["kserve-controller-manager"]),
])
def test_every_component_is_available(host, namespace, deployments):
    items = {d["metadata"]["name"]: d for d in get(host, "deployments", "-n", namespace)["items"]}
    for name in deployments:
        conditions = {c["type"]: c["status"] for c in items[name]["status"]["conditions"]}
        assert conditions["Available"] == "True", name


def test_every_crd_is_established(host):
    crds = get(host, "crds")["items"]
    groups = {c["spec"]["group"] for c in crds}
    assert {"networking.istio.io", "serving.knative.dev", "cert-manager.io", "serving.kserve.io"} <= groups
    for crd in crds:
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions.get("Established") == "True", crd["metadata"]["name"]


def test_gpus_are_allocatable_and_routes_use_the_gateway_address(host):
    gpu_nodes = [n for n in get(host, "nodes")["items"]
                 if "cloud.google.com/gke-accelerator" in n["metadata"]["labels"]]
    assert gpu_nodes and all(int(n["status"]["allocatable"]["nvidia.com/gpu"]) >= 1 for n in gpu_nodes)
    address = get(host, "service", "istio-ingressgateway", "-n", "istio-system")["status"]["loadBalancer"][
        "ingress"][0]["ip"]
    domain = get(host, "configmap", "config-domain", "-n", "knative-serving")["data"]
    assert "%s.sslip.io" % address in domain


def test_kserve_runs_in_knative_mode_with_the_tensorflow_runtime(host):
    config = get(host, "configmap", "inferenceservice-config", "-n", "kserve")["data"]
    assert json.loads(config["deploy"])["defaultDeploymentMode"] == "Knative"
    runtime = get(host, "clusterservingruntime", "kserve-tensorflow-serving")
    assert "tensorflow" in [f["name"] for f in runtime["spec"]["supportedModelFormats"]]


def test_predictors_act_as_the_model_reader_by_workload_identity(host):
    account = get(host, "serviceaccount", "kserve-predictor", "-n", "models")
    email = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    policy = host.run("gcloud iam service-accounts get-iam-policy %s --format=json" % email)
    assert policy.rc == 0, policy.stderr
    bindings = {b["role"]: b["members"] for b in json.loads(policy.stdout)["bindings"]}
    project = email.split("@")[1].split(".")[0]
    assert "serviceAccount:%s.svc.id.goog[models/kserve-predictor]" % project in bindings[
        "roles/iam.workloadIdentityUser"]


def test_the_sample_model_is_in_the_private_bucket_for_the_predictor_only(host):
    from google.cloud import storage  # pylint: disable=import-outside-toplevel
    import google.oauth2.credentials  # pylint: disable=import-outside-toplevel
    client = storage.Client(project=os.environ["GCP_PROJECT"],
                            credentials=google.oauth2.credentials.Credentials("lab"),
                            client_options={"api_endpoint": os.environ["KSERVE_GKE_STORAGE_ENDPOINT"].rstrip("/")})
    bucket = client.get_bucket("kserve-lab-models")
    names = [blob.name for blob in bucket.list_blobs(prefix="models/dogs-vs-cats/")]
    assert "models/dogs-vs-cats/1/saved_model.pb" in names
    policy = bucket.get_iam_policy(requested_policy_version=3)
    viewers = [b["members"] for b in policy.bindings if b["role"] == "roles/storage.objectViewer"][0]
    assert viewers == {"serviceAccount:kserve-predictor@%s.iam.gserviceaccount.com" % os.environ["GCP_PROJECT"]}


def walkthrough_request(path):
    """The walk-through's request body for one picture: RGB, 128x128, scaled by 1/255, under conv2d_input."""
    from PIL import Image  # pylint: disable=import-outside-toplevel
    with Image.open(path) as picture:
        pixels = picture.convert("RGB").resize((128, 128))
        rows = [[[v / 255.0 for v in pixels.getpixel((x, y))] for x in range(128)] for y in range(128)]
    return json.dumps({"instances": [{"conv2d_input": rows}]}).encode()


@pytest.mark.parametrize("picture, label", [("cat-1.jpg", "Cat"), ("dog-1.jpg", "Dog")])
def test_the_model_answers_through_the_gateway_by_host(host, picture, label):
    import urllib.request  # pylint: disable=import-outside-toplevel
    isvc = get(host, "inferenceservice", "dogs-vs-cats", "-n", "models")
    assert {c["type"]: c["status"] for c in isvc["status"]["conditions"]}["Ready"] == "True"
    address = get(host, "service", "istio-ingressgateway", "-n", "istio-system")["status"]["loadBalancer"][
        "ingress"][0]["ip"]
    body = walkthrough_request(os.path.join(os.environ["KSERVE_GKE_SAMPLES_DIR"], "images", picture))
    request = urllib.request.Request("http://%s/v1/models/dogs-vs-cats:predict" % address, data=body, headers={
        "Host": isvc["status"]["url"].split("://", 1)[1], "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        scores = json.loads(answer.read())["predictions"][0]
    assert ["Cat", "Dog"][scores.index(max(scores))] == label
