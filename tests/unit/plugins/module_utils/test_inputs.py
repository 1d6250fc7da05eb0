# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils import inputs

GOOD = {
    "kserve_gke_project": "my-ml-project",
    "kserve_gke_location": "us-central1-a",
    "kserve_gke_cluster_name": "kserve-gpu",
}


@pytest.mark.parametrize("value, ok", [
    ("my-ml-project", True),
    ("abcdef", True),
    ("a" * 30, True),
    ("a" * 31, False),
    ("abcde", False),             # too short
    ("My-Project", False),        # uppercase
    ("1project", False),          # starts with a digit
    ("my-project-", False),       # ends with a hyphen
    ("my_project", False),        # underscore
    ("123456789012", False),      # a project number, not an ID
])
def test_check_project(value, ok):
    assert (inputs.check_project(value) == []) is ok


@pytest.mark.parametrize("value, kind", [
    ("us-central1", "region"),
    ("europe-west4", "region"),
    ("us-central1-a", "zone"),
    ("asia-northeast3-c", "zone"),
    ("us-central", None),
    ("us-central1-ab", None),
    ("US-CENTRAL1", None),
    ("global", None),
    ("", None),
])
def test_location_kind(value, kind):
    assert inputs.location_kind(value) == kind
    assert (inputs.check_location(value) == []) is (kind is not None)


@pytest.mark.parametrize("value, ok", [
    ("kserve-gpu", True),
    ("a", True),
    ("a" * 40, True),
    ("a" * 41, False),
    ("kserve-", False),
    ("-kserve", False),
    ("Kserve", False),
    ("kserve_gpu", False),
])
def test_check_cluster_name(value, ok):
    assert (inputs.check_cluster_name(value) == []) is ok


@pytest.mark.parametrize("value, fragment", [
    ("my-models", None),
    ("my_models-1", None),
    ("ab", "not a valid bucket name"),
    ("My-Models", "not a valid bucket name"),
    ("-models", "not a valid bucket name"),
    ("goog-models", "reserved by Google"),
    ("my-google-models", "reserved by Google"),
])
def test_check_bucket(value, fragment):
    problems = inputs.check_bucket(value)
    if fragment is None:
        assert problems == []
    else:
        assert len(problems) == 1 and fragment in problems[0]
        assert problems[0].startswith("gcs_model_bucket:")


@pytest.mark.parametrize("machine, gpu, count, fragments", [
    ("n1-standard-4", "nvidia-tesla-t4", 1, []),
    ("g2-standard-8", "nvidia-l4", 1, []),
    ("n1-standard-4", None, None, []),
    ("g2-standard-8", "nvidia-tesla-t4", 1, ["does not attach to G2", "e.g. n1-standard-4"]),
    ("n1-standard-4", "nvidia-l4", 1, ["does not attach to N1", "e.g. g2-standard-4"]),
    ("n1-standard-4", "nvidia-tesla-t4", 0, ["gke_cluster_gpu_count", "at least 1"]),
    ("n1-standard-4", "nvidia-tesla-t4", "2", ["whole number"]),
    ("n1-standard-4", "nvidia-tesla-t4", True, ["whole number"]),
    ("n1-standard-4", "nvidia-t5", 1, ["not a GPU type", "nvidia-l4"]),
    ("standard", None, None, ["not a machine type"]),
])
def test_check_accelerator(machine, gpu, count, fragments):
    problems = inputs.check_accelerator(machine, gpu, count)
    assert len(problems) == len(fragments[:1]) if fragments else problems == []
    text = " ".join(problems)
    for fragment in fragments:
        assert fragment in text


@pytest.mark.parametrize("config, fragment", [
    ({}, None),
    ({"kserve_gke_auth_kind": "application"}, None),
    ({"kserve_gke_auth_kind": "accesstoken"}, None),
    ({"kserve_gke_auth_kind": "serviceaccount", "kserve_gke_service_account_file": "/k.json"}, None),
    ({"kserve_gke_auth_kind": "serviceaccount"}, "kserve_gke_service_account_file: is required"),
    ({"kserve_gke_auth_kind": "machineaccount"}, "use one of application"),
])
def test_check_auth(config, fragment):
    problems = inputs.check_auth(config)
    assert (problems == []) is (fragment is None)
    if fragment:
        assert fragment in problems[0]


def test_check_renamed_error_when_only_old_name_is_set():
    errors, warnings = inputs.check_renamed(["gcp_project", "other"])
    assert errors == ["gcp_project: was renamed and is not read any more. Fix: rename it to kserve_gke_project"]
    assert warnings == []


def test_check_renamed_warning_when_both_names_are_set():
    errors, warnings = inputs.check_renamed(["gcp_project", "kserve_gke_project"])
    assert errors == []
    assert warnings and "gcp_project is ignored" in warnings[0]


def test_check_renamed_removed_variable():
    errors, _warnings = inputs.check_renamed(["old_knob"], renamed={}, removed={"old_knob": "drop it"})
    assert errors == ["old_knob: was removed. Fix: drop it"]


@pytest.mark.parametrize("missing", sorted(inputs.REQUIRED))
def test_check_config_names_each_missing_required_variable(missing):
    config = dict(GOOD)
    del config[missing]
    errors, _warnings = inputs.check_config(config)
    assert len(errors) == 1
    assert errors[0].startswith(missing + ": is required but not set. Fix: ")


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_check_config_treats_empty_as_missing_and_reports_it_once(empty):
    errors, _warnings = inputs.check_config(dict(GOOD, kserve_gke_project=empty))
    assert len(errors) == 1 and "is required" in errors[0]


def test_check_config_reports_every_problem_at_once():
    errors, _warnings = inputs.check_config({
        "kserve_gke_project": "X",
        "kserve_gke_location": "moon",
        "kserve_gke_cluster_name": "ok",
        "gcs_model_bucket": "goog",
    }, defined_names=["gcp_region"])
    assert [e.split(":", 1)[0] for e in errors] == [
        "kserve_gke_project", "kserve_gke_location", "gcs_model_bucket", "gcp_region"]


def test_check_config_good():
    assert inputs.check_config(GOOD) == ([], [])


@pytest.mark.parametrize("mode, errors, warnings", [
    (None, 0, 0), ("Knative", 0, 0), ("Standard", 0, 0),
    ("Serverless", 0, 1), ("RawDeployment", 0, 1),
    ("ModelMesh", 1, 0), ("knative", 1, 0),
])
def test_deployment_mode(mode, errors, warnings):
    found_errors, found_warnings = inputs.check_deployment_mode({"kserve_deployment_mode": mode})
    assert (len(found_errors), len(found_warnings)) == (errors, warnings)
    assert all("Fix:" in e and e.startswith("kserve_deployment_mode") for e in found_errors)


def test_an_old_deployment_mode_name_says_the_new_one():
    warning = inputs.check_deployment_mode({"kserve_deployment_mode": "RawDeployment"})[1][0]
    assert "write Standard" in warning


@pytest.mark.parametrize("config, fragment", [
    ({}, None),
    ({"istio_install_method": "manifest"}, None),
    ({"istio_install_method": "helm", "istio_helm_values": {"istiod": {"pilot": {}}, "gateway": {}}}, None),
    ({"istio_install_method": "istioctl"}, "istio_install_method: 'istioctl' is not an install method"),
    ({"istio_helm_values": ["istiod"]}, "istio_helm_values: must be a mapping"),
    ({"istio_helm_values": {"pilot": {}, "istiod": {}}}, "pilot is not one of Istio's charts"),
])
def test_check_istio_install(config, fragment):
    errors = inputs.check_istio_install(config)
    assert errors == [] if fragment is None else fragment in errors[0], errors
    assert inputs.check_config(dict(config, kserve_gke_project="my-ml-project", kserve_gke_location="us-central1",
                                    kserve_gke_cluster_name="kserve"))[0] == errors


@pytest.mark.parametrize("config, refused", [
    ({}, False),
    ({"kserve_ingress_class_name": "gce"}, False),                        # Knative mode: the class is Istio's
    ({"kserve_deployment_mode": "Standard", "kserve_ingress_class_name": ""}, False),
    ({"kserve_deployment_mode": "Standard", "kserve_ingress_class_name": "nginx"}, False),
    ({"kserve_deployment_mode": "Standard", "kserve_ingress_class_name": "gce"}, True),
    ({"kserve_deployment_mode": "RawDeployment", "kserve_ingress_class_name": "gce-internal"}, True),
])
def test_check_ingress_class_refuses_what_gke_would_ignore(config, refused):
    errors = inputs.check_ingress_class(config)
    assert bool(errors) == refused, errors
    if refused:
        assert errors[0].startswith("kserve_ingress_class_name: '%s' would be written into spec.ingressClassName"
                                    % config["kserve_ingress_class_name"])
        assert "Fix: leave kserve_ingress_class_name empty" in errors[0]


@pytest.mark.parametrize("binary, output, fragment", [
    ("/usr/bin/helm", "v3.10.1", None),
    ("/usr/bin/helm", "v4.0.0\n", None),
    (None, "", "helm needs the helm binary, and none was found"),
    ("/opt/helm", "v3.6.2", "/opt/helm is Helm v3.6.2, older than 3.10"),
    ("/opt/helm", "Error: unknown flag: --template", "/opt/helm did not say its version"),
])
def test_check_helm(binary, output, fragment):
    errors = inputs.check_helm(binary, output)
    assert errors == [] if fragment is None else (fragment in errors[0] and "Fix: install Helm 3.10" in errors[0]), errors


@pytest.mark.parametrize("given, current", [("Serverless", "Knative"), ("RawDeployment", "Standard"),
                                            ("Knative", "Knative"), ("Standard", "Standard"), ("", ""),
                                            ("Sideways", "Sideways")])
def test_current_deployment_mode_maps_the_old_names(given, current):
    assert inputs.current_deployment_mode(given) == current


def test_check_config_refuses_a_prefix_that_climbs():
    errors, _warnings = inputs.check_config(dict(GOOD, gcs_model_prefix="../../etc"))
    assert len(errors) == 1 and errors[0].startswith("gcs_model_prefix '../../etc' has a '.' or '..' segment")


@pytest.mark.parametrize("name, fix", [("istio_address_timeout", "set istio_wait_timeout instead"),
                                       ("cert_manager_namespace", "remove it")])
def test_variables_this_change_removed_are_named_with_the_fix(name, fix):
    errors, _warnings = inputs.check_renamed([name])
    assert len(errors) == 1 and errors[0].startswith(name) and fix in errors[0]
