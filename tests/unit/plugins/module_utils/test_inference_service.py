# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils.inference_service import (
    hint_for, is_ready, progress, report, service_errors, with_addresses)

GOOD = {"name": "dogs-vs-cats", "namespace": "models", "storage_uri": "gs://b/models/dogs-vs-cats", "gpus": 1,
        "runtime_version": "", "min_replicas": 1, "max_replicas": 1, "canary_traffic_percent": None}


@pytest.mark.parametrize("change, expected", [
    ({}, []),
    ({"name": "Dogs_vs_cats"}, ["name 'Dogs_vs_cats' must be a DNS-1035 label"]),
    ({"name": "1model"}, ["must be a DNS-1035 label"]),
    ({"name": "a" * 64}, ["must be a DNS-1035 label"]),
    ({"storage_uri": "/tmp/model"}, ["storage_uri '/tmp/model' is not a model location"]),
    ({"storage_uri": ""}, ["is not a model location"]),
    ({"storage_uri": "s3://bucket/model"}, ["is in S3: the predictors get Google credentials only"]),
    ({"storage_uri": "pvc://models/dogs"}, []),
    ({"gpus": -1}, ["gpus -1 is not a number of GPUs"]),
    ({"gpus": "two"}, ["gpus 'two' is not a number of GPUs"]),
    ({"namespace": "Models!"}, ["namespace 'Models!' is not a Kubernetes namespace name"]),
    ({"namespace": "team-a"}, []),
    ({"runtime_version": "2.6.2"}, ["runtime_version '2.6.2-gpu'"]),
    ({"runtime_version": "2.6.2-gpu"}, []),
    ({"runtime_version": "2.6.2-gpu", "gpus": 0}, ["is a GPU image but gpus is 0"]),
    ({"runtime_version": "2.6.2", "gpus": 0}, []),
    ({"min_replicas": 3, "max_replicas": 2}, ["min_replicas 3 is above max_replicas 2"]),
    ({"min_replicas": 3, "max_replicas": 0}, []),  # 0: no upper bound
    ({"canary_traffic_percent": 101}, ["canary_traffic_percent 101 is not between 0 and 100"]),
    ({"canary_traffic_percent": 10}, []),
])
def test_service_errors_name_the_item_field_and_fix(change, expected):
    errors = service_errors([dict(GOOD, **change)])
    assert len(errors) == len(expected)
    for error, part in zip(errors, expected):
        assert part in error and error.startswith("inference_service_models[0]") and "Fix:" in error


def test_service_errors_finds_a_name_listed_twice():
    errors = service_errors([GOOD, dict(GOOD)])
    assert errors == ["inference_service_models[1] (dogs-vs-cats): models/dogs-vs-cats is listed twice. Fix: give "
                      "each InferenceService its own name."]


def isvc(name, ready=None, transition=None, generation=1, observed=1, url="http://m.models.1.2.3.4.sslip.io"):
    status = {"observedGeneration": observed}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready}]
    if transition:
        status["modelStatus"] = {"transitionStatus": transition}
    if url and ready == "True":
        status["url"] = url
    return {"metadata": {"name": name, "namespace": "models", "generation": generation}, "status": status}


@pytest.mark.parametrize("obj, expected", [
    (isvc("m", "True"), True),
    (isvc("m", "False"), False),
    (isvc("m", "True", generation=2, observed=1), False),  # Ready for the spec before the change
    (isvc("m", "True", url=None), False),
    ({"metadata": {"name": "m"}}, False),
])
def test_is_ready(obj, expected):
    assert is_ready(obj) is expected


@pytest.mark.parametrize("objects, attempt, blocked_polls, expected", [
    ([isvc("a", "True")], 0, 0, {"ready": ["models/a"], "waiting": [], "failed": []}),
    ([], 0, 0, {"ready": [], "waiting": ["models/a"], "failed": []}),
    ([isvc("a", "False", "InProgress")], 9, 0, {"ready": [], "waiting": ["models/a"], "failed": []}),
    ([isvc("a", "False", "InvalidSpec")], 0, 10, {"ready": [], "waiting": [], "failed": ["models/a"]}),
    ([isvc("a", "False", "BlockedByFailedLoad")], 3, 10, {"ready": [], "waiting": ["models/a"], "failed": []}),
    ([isvc("a", "False", "BlockedByFailedLoad")], 11, 10, {"ready": [], "waiting": [], "failed": ["models/a"]}),
])
def test_progress(objects, attempt, blocked_polls, expected):
    got = progress(objects, [{"namespace": "models", "name": "a"}], attempt, blocked_polls)
    assert {k: got[k] for k in ("ready", "waiting", "failed")} == expected
    assert [e["host"] for e in got["endpoints"]] == (["m.models.1.2.3.4.sslip.io"] if expected["ready"] else [])


def with_mode(obj, mode):
    obj["status"]["deploymentMode"] = mode
    return obj


def load_balanced(kind, namespace, name, ip=None):
    return {"kind": kind, "metadata": {"namespace": namespace, "name": name},
            "status": {"loadBalancer": {"ingress": [{"ip": ip}]} if ip else {}}}


@pytest.mark.parametrize("objects, ingresses, addresses", [
    ([isvc("a", "True")], [], ["34.1.2.3"]),                                          # Knative: the gateway's
    ([with_mode(isvc("a", "True"), "Knative")], [load_balanced("Ingress", "models", "a", "35.0.0.9")], ["34.1.2.3"]),
    ([with_mode(isvc("a", "True"), "Standard")], [load_balanced("Ingress", "models", "a", "35.0.0.9")], ["35.0.0.9"]),
    ([with_mode(isvc("a", "True"), "RawDeployment")], [load_balanced("Ingress", "models", "a")], [""]),  # not yet
    ([with_mode(isvc("a", "True"), "Standard")], [load_balanced("Ingress", "other", "a", "35.0.0.9")], [""]),
])
def test_with_addresses_takes_a_standard_mode_address_from_its_own_ingress(objects, ingresses, addresses):
    endpoints = progress(objects, [{"namespace": "models", "name": "a"}])["endpoints"]
    gateway = load_balanced("Service", "istio-system", "istio-ingressgateway", "34.1.2.3")
    assert [e["ingress_address"] for e in with_addresses(endpoints, gateway, ingresses)] == addresses


def test_report_puts_together_conditions_failure_pods_events_and_log():
    obj = {"metadata": {"name": "m", "namespace": "models"}, "status": {
        "conditions": [{"type": t, "status": "False", "reason": "RevisionFailed", "message": "boom"}
                       for t in ("PredictorReady", "Ready")] + [{"type": "IngressReady", "status": "True"}],
        "modelStatus": {"lastFailureInfo": {"reason": "ModelLoadFailed", "location": "m-pod",
                                            "message": "403 ... does not have storage.objects.list access"}}}}
    pods = [{"metadata": {"name": "m-pod"}, "status": {"phase": "Pending", "initContainerStatuses": [
        {"name": "storage-initializer", "ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}]
    events = [{"type": "Warning", "reason": "BackOff", "message": "Back-off", "involvedObject": {"name": "m-pod"}}] * 3
    events.append({"type": "Warning", "reason": "BackOff", "message": "x", "involvedObject": {"name": "other"}})
    text = report(obj, pods, events, {"m-pod": "a\nb\nForbidden: 403", "other": "not this one"})
    assert text.startswith("models/m is not Ready. Conditions: PredictorReady, Ready=False (RevisionFailed: boom).")
    assert "lastFailureInfo: ModelLoadFailed in m-pod: 403" in text
    assert "Pod m-pod: Pending, storage-initializer CrashLoopBackOff." in text
    assert "Event BackOff on m-pod (x3): Back-off" in text and "other" not in text
    assert "storage-initializer log of m-pod (last lines): a | b | Forbidden: 403" in text
    assert text.endswith("set service_account to the ServiceAccount the kserve role made.")


def test_report_of_a_missing_or_unlooked_at_service():
    assert "does not exist" in report({})
    assert "kserve-controller-manager running" in report({"metadata": {"name": "m", "namespace": "models"}})


@pytest.mark.parametrize("info, pods, part", [
    ({"reason": "NoSupportingRuntime"}, [], "kserve_cluster_runtimes"),
    ({"reason": "RuntimeNotRecognized"}, [], "runtime named does not exist"),
    ({"reason": "ModelLoadFailed", "message": "Permission 'iam.serviceAccounts.getAccessToken' denied"}, [],
     "roles/iam.workloadIdentityUser"),
    ({"reason": "ModelLoadFailed", "message": "RuntimeError: Failed to fetch model. No model found in gs://b/m."}, [],
     "Run the gcs_model role"),
    ({}, [{"status": {"conditions": [{"reason": "Unschedulable",
                                      "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]}}],
     "lower gpus"),
    ({}, [], ""),
])
def test_hint_for_known_failures(info, pods, part):
    hint = hint_for(info, pods)
    assert part in hint and (hint == "") == (part == "")


@pytest.mark.parametrize("gateway", [load_balanced("Service", "istio-system", "istio-ingressgateway", "34.1.2.3"),
                                     "34.1.2.3"])
def test_with_addresses_takes_the_gateway_as_a_service_or_its_address(gateway):
    endpoints = progress([isvc("a", "True")], [{"namespace": "models", "name": "a"}])["endpoints"]
    assert [e["ingress_address"] for e in with_addresses(endpoints, gateway, [])] == ["34.1.2.3"]
