# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import sys

import pytest

from ansible_collections.mlops.kserve_gke.plugins.modules import validate_inputs

MATRIX = {"kubernetes": {"1.33": {}}, "kserve": {"0.20": {}}}
PARAMS = {
    "config": {"kserve_gke_project": "my-ml-project", "kserve_gke_location": "us-central1",
               "kserve_gke_cluster_name": "kserve"},
    "defined_names": [],
    "role_specs": {},
    "versions": {},
    "version_defaults": {"kubernetes": "1.33", "kserve": "0.20.0"},
    "matrix": MATRIX,
    "ansible_version": "2.19.14",
    "min_ansible_version": "2.16.0",
    "min_python_version": "3.11",
    "today": "2026-11-24",
}


def test_run_clean():
    result = validate_inputs.run(dict(PARAMS))
    assert result["errors"] == [] and result["warnings_found"] == []
    assert result["changed"] is False
    assert result["versions"] == {"kubernetes": "1.33", "kserve": "0.20.0"}


@pytest.mark.parametrize("changes, fragment", [
    ({"ansible_version": "2.15.9"}, "ansible-core 2.15.9 is too old"),
    ({"min_python_version": "%d.%d" % (sys.version_info[0], sys.version_info[1] + 1)}, "is too old"),
    ({"versions": {"kserve": "0.7.0"}}, "KServe 0.7.0 is not a version"),
    ({"config": {}}, "kserve_gke_project: is required"),
    ({"versions": "0.20.0"}, "kserve_gke_versions: must be a mapping of component to version, got '0.20.0'"),
    ({"config": dict(PARAMS["config"], knative_domain_mode="magic"),
      "role_specs": {"knative": {"knative_domain_mode": {"type": "str", "choices": ["sslip", "custom", "none"]}}}},
     "knative_domain_mode: value of knative_domain_mode must be one of: sslip, custom, none, got: magic"),
])
def test_run_collects_errors(changes, fragment):
    result = validate_inputs.run(dict(PARAMS, **changes))
    assert any(fragment in error for error in result["errors"]), result["errors"]


@pytest.mark.parametrize("helm, fragment", [
    (None, None),
    (("/usr/bin/helm", "v3.10.1"), None),
    ((None, ""), "helm needs the helm binary"),
    (("/usr/bin/helm", "v3.2.4"), "older than 3.10"),
])
def test_run_checks_helm_only_when_asked(helm, fragment):
    errors = validate_inputs.run(dict(PARAMS), helm)["errors"]
    assert errors == [] if fragment is None else fragment in errors[0], errors
