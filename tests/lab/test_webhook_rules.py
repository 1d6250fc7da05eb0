# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab's webhook servers answer kube-apiserver on real planes (webhooks.py), and which registrations they
serve: tables, no lab."""
from __future__ import annotations

import pytest

import conftest  # noqa: F401  pylint: disable=unused-import  # puts lab/ on sys.path

from kserve_lab.webhooks import answer, registrations  # pylint: disable=wrong-import-order

ISVC = {"group": "serving.kserve.io", "version": "v1beta1", "resource": "inferenceservices"}
CONFIGS = {"group": "serving.kserve.io", "version": "v1alpha2", "resource": "llminferenceserviceconfigs"}
GOOD = {"metadata": {"name": "dogs"}, "spec": {"predictor": {"tensorflow": {"storageUri": "gs://b/m"}}}}
BAD = {"metadata": {"name": "dogs"}, "spec": {"predictor": {"minReplicas": 3, "maxReplicas": 1,
                                                            "tensorflow": {"storageUri": "gs://b/m"}}}}


def review(operation, resource, obj=None, old=None, **extra):
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": dict({"uid": "u-1", "operation": operation, "resource": resource, "object": obj,
                             "oldObject": old}, **extra)}


@pytest.mark.parametrize("request_, env, refused", [
    (review("CREATE", ISVC, GOOD), {}, None),
    (review("CREATE", ISVC, BAD), {}, "MinReplicas cannot be greater than MaxReplicas."),
    (review("UPDATE", ISVC, BAD, old=BAD), {}, None),  # spec unchanged: status and metadata are not its business
    (review("UPDATE", ISVC, BAD, old=GOOD), {}, "MinReplicas cannot be greater than MaxReplicas."),
    (review("DELETE", CONFIGS, namespace="kserve", name="kserve-config-llm-template"), {},
     "well-known config kserve/kserve-config-llm-template cannot be deleted"),
    (review("DELETE", CONFIGS, namespace="kserve", name="kserve-config-llm-template"),
     {"PREVENT_WELL_KNOWN_CONFIG_DELETION": "false"}, None),
    (review("DELETE", CONFIGS, namespace="team", name="kserve-config-llm-template"), {}, None),
    (review("CREATE", {"group": "", "version": "v1", "resource": "pods"}, {"metadata": {"name": "p"}}), {}, None),
])
def test_admission_answers(request_, env, refused):
    response = answer(request_, lambda _namespace, _deployment: env,
                      "/validate-serving-kserve-io-v1beta1-inferenceservice")["response"]
    assert response["uid"] == "u-1"
    assert response["allowed"] is (refused is None)
    if refused:
        assert response["status"]["code"] == 403 and response["status"]["message"] == refused


def test_a_defaulter_admits_what_the_validator_refuses():
    """KServe's defaulter and validator share a server; only the validator's path refuses (the defaulter's
    answering too showed on a real plane as 'admission webhook "...defaulter" denied the request')."""
    response = answer(review("CREATE", ISVC, BAD), lambda *_: {},
                      "/mutate-serving-kserve-io-v1beta1-inferenceservice")["response"]
    assert response["allowed"] is True


def test_a_conversion_rewrites_the_api_version():
    converted = answer({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {
        "uid": "c-1", "desiredAPIVersion": "serving.kserve.io/v1alpha2",
        "objects": [{"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LLMInferenceService"}]}},
        lambda *_: {})["response"]
    assert converted["uid"] == "c-1" and converted["result"] == {"status": "Success"}
    assert converted["convertedObjects"] == [{"apiVersion": "serving.kserve.io/v1alpha2", "kind": "LLMInferenceService"}]


def test_registrations_name_each_webhook_with_a_service_and_each_conversion_webhook():
    configs = {"ValidatingWebhookConfiguration": [{"metadata": {"name": "v"}, "webhooks": [
        {"name": "by-url", "clientConfig": {"url": "https://example.com/hook"}},
        {"name": "by-service", "clientConfig": {"service": {"namespace": "kserve", "name": "hooks"},
                                                "caBundle": "Q0E="}}]}]}
    crds = [{"metadata": {"name": "a.example.com"}, "spec": {"conversion": {"strategy": "None"}}},
            {"metadata": {"name": "b.example.com"}, "spec": {"conversion": {"strategy": "Webhook", "webhook": {
                "clientConfig": {"service": {"namespace": "kserve", "name": "conv", "port": 8443}}}}}}]
    assert registrations(configs, crds) == [
        ("ValidatingWebhookConfiguration", "v", 1, "by-service", "kserve", "hooks", 443, "Q0E="),
        ("CustomResourceDefinition", "b.example.com", None, None, "kserve", "conv", 8443, "")]
