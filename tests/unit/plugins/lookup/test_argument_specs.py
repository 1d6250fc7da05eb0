# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' argument specs, as the lookup reads them, checked by the validation play's module_utils
(here, in the controller's test context: the lookup is controller code)."""
from __future__ import annotations

import pytest

from ansible_collections.mlops.kserve_gke.plugins.lookup.argument_specs import read_specs
from ansible_collections.mlops.kserve_gke.plugins.module_utils import inputs

GOOD = {"kserve_gke_project": "my-ml-project", "kserve_gke_location": "us-central1-a",
        "kserve_gke_cluster_name": "kserve-gpu"}


def test_every_role_with_a_spec_is_read():
    specs = read_specs()
    assert {"gke_cluster", "knative", "inference_service", "gcs_model", "smoke_test"} <= set(specs)
    assert specs["knative"]["knative_domain_mode"]["choices"] == ["sslip", "custom", "none"]


ROLE_SPECS = read_specs()


@pytest.mark.parametrize("name, value, words", [
    ("gcs_model_storage_class", "COLDEST", ["gcs_model_storage_class: value of gcs_model_storage_class must be one of",
                                            "Fix: use one of STANDARD, NEARLINE, COLDLINE, ARCHIVE"]),
    ("knative_domain_mode", "magic", ["knative_domain_mode:", "Fix: use one of sslip, custom, none"]),
    ("gke_cluster_gpu_count", "two", ["gke_cluster_gpu_count:", "int", "ansible-doc -t role mlops.kserve_gke.gke_cluster"]),
    ("inference_service_models", [{"gpus": 1}], ["inference_service_models:", "missing required arguments: name"]),
    ("inference_service_models", [{"name": "m", "deployment_mode": "Fast"}], ["deployment_mode must be one of"]),
    ("smoke_test_protocol", "v3", ["smoke_test_protocol:", "Fix: use one of v1, v2"]),
])
def test_role_settings_are_checked_against_the_roles_argument_specs(name, value, words):
    problems = inputs.check_role_settings({name: value}, ROLE_SPECS)
    assert len(problems) == 1, problems
    for word in words:
        assert word in problems[0]


def test_role_settings_that_fit_their_specs_pass_and_own_checks_are_not_repeated():
    good = {"gcs_model_storage_class": "NEARLINE", "knative_domain_mode": "custom", "gke_cluster_gpu_count": "2",
            "inference_service_models": [{"name": "m", "gpus": 0}], "kserve_gke_project": "anything"}
    assert inputs.check_role_settings(good, ROLE_SPECS) == []
    errors, _warnings = inputs.check_config(dict(GOOD, kserve_deployment_mode="Fast"), role_specs=ROLE_SPECS)
    assert len([e for e in errors if e.startswith("kserve_deployment_mode")]) == 1
