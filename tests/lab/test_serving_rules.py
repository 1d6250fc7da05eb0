# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's KServe decisions, as tables: runtime choice, the webhook's refusals, the image tag,
modelStatus from Pods, and bucket read rights. (The twin end to end: test_inference_service_role.py.)"""
from __future__ import annotations

import pytest

# conftest puts scripts/ on sys.path
import conftest  # noqa: F401  pylint: disable=unused-import
from kserve_lab.serving import bucket_readable, image_for, model_status, predictor, select_runtime, webhook_errors


def runtime(name, formats, image="tensorflow/serving:2.6.2", protocols=("v1",), disabled=False):
    return {"metadata": {"name": name}, "spec": {
        "disabled": disabled, "protocolVersions": list(protocols),
        "supportedModelFormats": [dict(name=f, version=v, autoSelect=auto, priority=p) for f, v, auto, p in formats],
        "containers": [{"name": "kserve-container", "image": image}]}}


TF = runtime("kserve-tensorflow-serving", [("tensorflow", "1", True, 2), ("tensorflow", "2", True, 2)])
TF_LOW = runtime("tf-low", [("tensorflow", "2", True, 1)])
SK = runtime("kserve-sklearnserver", [("sklearn", "1", True, 1)], protocols=("v1", "v2"))


def isvc(name="m", **predictor_spec):
    return {"metadata": {"name": name}, "spec": {"predictor": predictor_spec}}


def model(fmt="tensorflow", **extra):
    return dict({"modelFormat": {"name": fmt}, "storageUri": "gs://b/m"}, **extra)


@pytest.mark.parametrize("spec, runtimes, chosen, reason", [
    (isvc(model=model()), [TF_LOW, TF, SK], "kserve-tensorflow-serving", None),  # highest priority wins
    (isvc(model=model("pytorch")), [TF, SK], None, "NoSupportingRuntime"),
    (isvc(model=model(runtime="nope")), [TF], None, "RuntimeNotRecognized"),
    (isvc(model=model(runtime="kserve-sklearnserver")), [TF, SK], None, "NoSupportingRuntime"),
    (isvc(model=model()), [runtime("t", [("tensorflow", "2", True, 1)], disabled=True)], None, "NoSupportingRuntime"),
    (isvc(model=model(runtime="t")), [runtime("t", [("tensorflow", "2", True, 1)], disabled=True)], None,
     "RuntimeDisabled"),
    (isvc(model=model(protocolVersion="v2")), [TF], None, "NoSupportingRuntime"),  # TF Serving speaks v1 only
    (isvc(model=dict(model(), modelFormat={"name": "tensorflow", "version": "2.15"})), [TF], "kserve-tensorflow-serving",
     None),
    (isvc(tensorflow={"storageUri": "gs://b/m"}), [TF], "kserve-tensorflow-serving", None),
])
def test_select_runtime(spec, runtimes, chosen, reason):
    found, failure = select_runtime(predictor(spec), runtimes)
    assert (found["metadata"]["name"] if found else None) == chosen
    assert (failure[0] if failure else None) == reason


@pytest.mark.parametrize("spec, expected", [
    (isvc(model=model()), []),
    (isvc("Bad_Name", model=model()), ["a InferenceService name must consist of lower case"]),
    (isvc(model=model(), tensorflow={"storageUri": "gs://b/m"}), ["Exactly one of"]),
    (isvc(), ["Exactly one of"]),
    (isvc(model=model(), minReplicas=3, maxReplicas=2), ["MinReplicas cannot be greater than MaxReplicas."]),
    (isvc(model=model(), canaryTrafficPercent=120), ["The traffic percent must be between [0, 100]."]),
    (isvc(tensorflow={"runtimeVersion": "2.6.2", "resources": {"limits": {"nvidia.com/gpu": 1}}}),
     ["Tensorflow RuntimeVersion is not GPU enabled but GPU resources are requested"]),
    (isvc(tensorflow={"runtimeVersion": "2.6.2-gpu"}),
     ["Tensorflow RuntimeVersion is GPU enabled but GPU resources are not requested"]),
    (isvc(tensorflow={"runtimeVersion": "2.6.2-gpu", "resources": {"limits": {"nvidia.com/gpu": 1}}}), []),
])
def test_webhook_errors(spec, expected):
    errors = webhook_errors(spec)
    assert len(errors) == len(expected) and all(part in error for error, part in zip(errors, expected))


@pytest.mark.parametrize("spec, image", [
    (model(), "tensorflow/serving:2.6.2"),
    (model(resources={"limits": {"nvidia.com/gpu": 1}}), "tensorflow/serving:2.6.2-gpu"),
    (model(runtimeVersion="2.11.0", resources={"limits": {"nvidia.com/gpu": "1"}}), "tensorflow/serving:2.11.0-gpu"),
    (model(runtimeVersion="2.11.0"), "tensorflow/serving:2.11.0"),
])
def test_image_for(spec, image):
    assert image_for(TF, predictor(isvc(model=spec))) == image


def pod(init_state=None, ready=False, container_state=None):
    status = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if init_state:
        status["initContainerStatuses"] = [{"name": "storage-initializer", "state": init_state}]
    if container_state:
        status["containerStatuses"] = [{"name": "kserve-container", "state": container_state}]
    return {"metadata": {"name": "p"}, "status": status}


@pytest.mark.parametrize("pods, ready, transition, target", [
    ([], False, "InProgress", "Pending"),
    ([pod({"running": {}})], False, "InProgress", "Loading"),
    ([pod({"terminated": {"reason": "Error", "exitCode": 1, "message": "403"}})], False, "BlockedByFailedLoad",
     "FailedToLoad"),
    ([pod({"waiting": {"reason": "CrashLoopBackOff"}})], False, "BlockedByFailedLoad", "FailedToLoad"),
    ([pod({"terminated": {"reason": "Completed"}}, container_state={"terminated": {"reason": "Error"}})], False,
     "BlockedByFailedLoad", "FailedToLoad"),
    ([pod({"terminated": {"reason": "Completed"}}, ready=True)], True, "UpToDate", "Loaded"),
])
def test_model_status(pods, ready, transition, target):
    got = model_status(pods, ready)
    assert (got["transitionStatus"], got["states"]["targetModelState"]) == (transition, target)
    assert ("lastFailureInfo" in got) == (transition == "BlockedByFailedLoad")


@pytest.mark.parametrize("bindings, members, readable", [
    ([{"role": "roles/storage.objectViewer", "members": ["serviceAccount:p@x.iam.gserviceaccount.com"]}],
     ["serviceAccount:p@x.iam.gserviceaccount.com"], True),
    ([{"role": "roles/storage.objectViewer", "members": ["allUsers"]}], ["serviceAccount:q", "allUsers"], True),
    ([{"role": "roles/storage.legacyBucketOwner", "members": ["serviceAccount:q"]}], ["serviceAccount:q"], False),
    ([{"role": "roles/storage.objectViewer", "members": ["serviceAccount:other"]}], ["serviceAccount:q"], False),
    ([], ["serviceAccount:q"], False),
])
def test_bucket_readable(bindings, members, readable):
    assert bucket_readable({"bindings": bindings}, members) is readable
