# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inference_service role and the lab's serving twin, on the whole stack (Knative mode): KServe's
webhook and controller answer kubectl as KServe does, the storage initializer reads the lab's GCS as the
predictor's identity, the role waits for Ready and publishes the URL, the model answers through the
Istio gateway by Host header, failures come back with the cause and the fix, and nothing is written
twice."""
from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import PLAYBOOK, ROOT, recap, until

STACK = "gke_cluster,nvidia_driver,istio,knative,cert_manager,kserve,gcs_model"
GATEWAY_PODS = ("-n", "istio-system", "get", "pods", "-l", "istio=ingressgateway", "-o", "json")


@pytest.fixture(scope="module")
def stack(lab):
    return lab.converged(STACK)


@pytest.fixture(scope="module")
def served(stack):
    proc = stack.play("inference_service")
    assert proc.returncode == 0, proc.stdout[-3000:]
    return stack, proc


def isvc(name, **predictor):
    spec = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": "models"}, "spec": {"predictor": predictor}}
    return json.dumps(spec)


def get_isvc(cluster, name):
    return json.loads(cluster.kubectl("-n", "models", "get", "inferenceservice", name, "-o", "json"))


def wait_isvc(cluster, name, jsonpath, value):
    cluster.kubectl("-n", "models", "wait", "--for=jsonpath={%s}=%s" % (jsonpath, value),
                    "inferenceservice/" + name, "--timeout=60s")
    return get_isvc(cluster, name)


def gateway_call(address, host, path, body=None):
    request = urllib.request.Request("http://%s%s" % (address, path), data=body, headers={"Host": host},
                                     method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def smoke(cluster):
    env = cluster.client_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([PLAYBOOK, "playbooks/smoke_test.yml", "-i", "inventories/lab"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def test_bad_settings_are_stopped_before_any_write(stack):
    before = len(stack.requests())
    bad = ('{"inference_service_models": [{"name": "Dogs_vs_cats"}, {"name": "gpu", "runtime_version": "2.6.2"},'
           ' {"name": "x", "storage_uri": "/tmp/model"}]}')
    proc = stack.play("inference_service", "-e", bad)
    assert proc.returncode != 0
    assert "inference_service_models[0] (Dogs_vs_cats): name 'Dogs_vs_cats' must be a DNS-1035 label" in proc.stdout
    assert "runtime_version '2.6.2' with gpus 1" in proc.stdout and "runtime_version '2.6.2-gpu'" in proc.stdout
    assert "storage_uri '/tmp/model' is not a model location" in proc.stdout
    assert stack.writes(before) == []


def test_kserve_webhook_refuses_a_cpu_image_with_gpus(stack):
    proc = stack.kubectl_apply(isvc("tf-gpu", tensorflow={"runtimeVersion": "2.6.2", "storageUri": "gs://b/m",
                                                          "resources": {"limits": {"nvidia.com/gpu": 1}}}))
    assert proc.returncode != 0
    assert 'admission webhook "inferenceservice.kserve-webhook-server.validator" denied the request: Tensorflow ' \
           'RuntimeVersion is not GPU enabled but GPU resources are requested' in proc.stderr


def test_a_format_no_runtime_serves_is_invalid_spec(stack):
    assert stack.kubectl_apply(isvc("torch", model={"modelFormat": {"name": "pytorch"},
                                                    "storageUri": "gs://kserve-lab-models/x"})).returncode == 0
    found = wait_isvc(stack, "torch", ".status.modelStatus.transitionStatus", "InvalidSpec")
    assert found["status"]["modelStatus"]["lastFailureInfo"]["reason"] == "NoSupportingRuntime"
    ready = next(c for c in found["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "NoSupportingRuntime"
    stack.kubectl("-n", "models", "delete", "inferenceservice", "torch", "--wait=true")


def test_model_is_served_through_the_gateway_by_host(served):
    cluster, proc = served
    found = get_isvc(cluster, "dogs-vs-cats")
    address = json.loads(cluster.kubectl("-n", "istio-system", "get", "service", "istio-ingressgateway", "-o",
                                         "json"))["status"]["loadBalancer"]["ingress"][0]["ip"]
    host = "dogs-vs-cats.models.%s.sslip.io" % address
    assert found["status"]["url"] == "http://" + host
    assert found["status"]["modelStatus"]["transitionStatus"] == "UpToDate"
    assert "is Ready at http://%s" % host in proc.stdout and "with Host: %s" % host in proc.stdout
    pod = json.loads(cluster.kubectl("-n", "models", "get", "pods", "-l",
                                     "serving.kserve.io/inferenceservice=dogs-vs-cats", "-o", "json"))["items"][0]
    assert pod["spec"]["containers"][0]["image"].endswith("-gpu")  # KServe's GPU image for a GPU request
    assert pod["spec"]["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
    log = cluster.kubectl("-n", "models", "logs", pod["metadata"]["name"], "-c", "storage-initializer")
    assert "Successfully copied gs://kserve-lab-models/models/dogs-vs-cats to /mnt/models" in log
    status, body = gateway_call(address, host, "/v1/models/dogs-vs-cats")
    assert status == 200 and json.loads(body)["model_version_status"][0]["state"] == "AVAILABLE"
    assert gateway_call(address, "nobody.example.com", "/v1/models/dogs-vs-cats") == (404, b"")
    reads = [r for r in cluster.requests() if r.get("via") == "storage-initializer"]
    assert reads and {r["principal"] for r in reads} == {
        "serviceAccount:kserve-predictor@kserve-lab.iam.gserviceaccount.com"}


def test_second_run_changes_nothing(served):
    cluster, _proc = served
    cluster.assert_rerun_changes_nothing("inference_service")


def test_check_mode_reports_a_change_and_writes_nothing(served):
    cluster, _proc = served
    proc = cluster.assert_check_mode_writes_nothing(
        "inference_service", "--diff", "-e", '{"inference_service_models": [{"name": "dogs-vs-cats", "max_replicas": 3}]}')
    assert int(recap(proc)["changed"]) > 0
    assert get_isvc(cluster, "dogs-vs-cats")["spec"]["predictor"]["maxReplicas"] == 1


def test_smoke_test_classifies_through_the_cluster(served):
    cluster, _proc = served
    proc = smoke(cluster)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "cat-1.jpg: Cat" in proc.stdout and "dog-4.jpg: Dog" in proc.stdout


def test_a_bucket_the_predictor_may_not_read_fails_with_the_cause_and_the_fix(served):
    cluster, _proc = served
    models = ('{"inference_service_failed_load_grace": 2, "inference_service_models": '
              '[{"name": "no-access", "service_account": "default", "gpus": 0}]}')
    proc = cluster.play("inference_service", "-e", models)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "models/no-access is not Ready" in out
    assert "lastFailureInfo: ModelLoadFailed" in out
    assert "does not have storage.objects.list access to the Google Cloud Storage bucket" in out
    assert "storage-initializer log of no-access-predictor-00001-deployment" in out
    assert "Event BackOff on no-access-predictor-00001-deployment" in out
    assert "Fix: the predictor cannot read the bucket" in out
    absent = models.replace('{"inference_service_failed', '{"inference_service_state": "absent", '
                                                          '"inference_service_failed')
    gone = cluster.play("inference_service", "-e", absent)
    assert gone.returncode == 0, gone.stdout[-3000:]
    assert "no-access" not in cluster.kubectl("-n", "models", "get", "deployments")


def test_after_a_lab_restart_the_model_answers_again_through_injected_faults(served):
    cluster, _proc = served
    cluster.run("down")
    left = subprocess.run(["pgrep", "-f", "kserve_lab.model_server.*%s" % cluster.directory], capture_output=True,
                          text=True, check=False)
    assert left.stdout == "", "a model server outlived the lab"
    cluster.run("knobs", "--fault", "serving=0.3:503,reset", "--seed", "3")
    cluster.run("up", "--idle-timeout", "600")

    def restarted_and_ready():  # the Pods keep the Ready they had in etcd until the kubelet restarts their container
        pods = json.loads(cluster.kubectl("-n", "models", "get", "pods", "-l",
                                          "serving.kserve.io/inferenceservice=dogs-vs-cats", "-o", "json"))["items"]
        servers = [c for pod in pods for c in pod["status"].get("containerStatuses") or []
                   if c["name"] == "kserve-container"]
        return len(servers) == len(pods) > 0 and all(c["restartCount"] > 0 and c["ready"] for c in servers)
    until("predictor Pod restarted and ready", restarted_and_ready, timeout=120)
    cluster.kubectl("-n", "models", "wait", "--for=condition=Ready", "inferenceservice/dogs-vs-cats", "--timeout=60s")
    proc = smoke(cluster)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "8 pictures classified right" in proc.stdout
    faults = [r for r in cluster.requests() if r["service"] == "serving" and r.get("fault")]
    assert faults, "the model server injected no fault"
