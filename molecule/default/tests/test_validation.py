# -*- coding: utf-8 -*-
"""The validation play refuses bad inventories before any change.

Each bad case runs the real site playbook (ansible-playbook site.yml) with the
lab inventory plus one bad setting and checks that the run stops in the
validation play with a message naming the variable and the fix. The good cases
run the validation play alone: the rest of site.yml needs a lab or a cloud.
"""
from __future__ import annotations

import json
import os
import shlex

import pytest

ROOT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())


def run_site(host, extra_vars, inventory="inventories/lab", playbook="site.yml"):
    cmd = "cd %s && ansible-playbook %s -i %s -e %s" % (
        shlex.quote(ROOT), playbook, inventory, shlex.quote(json.dumps(extra_vars)))
    return host.run(cmd)


@pytest.mark.parametrize("extra_vars, expected", [
    ({"kserve_gke_project": ""},
     "kserve_gke_project: is required but not set. Fix: set it in group_vars/all/gcp.yml"),
    ({"kserve_gke_project": "My Project"}, "kserve_gke_project: 'My Project' is not a Google Cloud project ID"),
    ({"kserve_gke_location": "us-central"}, "kserve_gke_location: 'us-central' is neither a region nor a zone"),
    ({"kserve_gke_cluster_name": "Kserve_GPU"}, "kserve_gke_cluster_name: 'Kserve_GPU' is not a valid GKE cluster name"),
    ({"gke_cluster_gpu_count": 0}, "gke_cluster_gpu_count: must be a whole number of at least 1"),
    ({"gke_cluster_gpu_machine_type": "g2-standard-8"}, "nvidia-tesla-t4 does not attach to G2 machines"),
    ({"gcp_cred_file": "/srv/key.json"},
     "gcp_cred_file: was renamed and is not read any more. Fix: rename it to kserve_gke_service_account_file"),
    ({"kserve_gke_versions": {"kserve": "0.7.0"}}, "KServe 0.7.0 is not a version this collection knows"),
    ({"kserve_deployment_mode": "ModelMesh"}, "kserve_deployment_mode: 'ModelMesh' is not a KServe deployment mode"),
    ({"kserve_gke_versions": {"kubernetes": "1.32", "knative": "1.21.1"}},
     "Knative Serving 1.21.1 supports Kubernetes 1.33 to any, but the cluster runs 1.32"),
    # The old defaults: Knative 1.22's binaries exit below Kubernetes 1.34 (knative.dev/pkg release-1.22).
    ({"kserve_gke_versions": {"kubernetes": "1.33"}},
     "Knative Serving 1.22.1 supports Kubernetes 1.34 to any, but the cluster runs 1.33"),
    ({"kserve_gke_versions": {"net_istio": "1.21.3"}},
     "net-istio 1.21.3 is released for Knative Serving 1.21, but Knative Serving 1.22.1 is pinned"),
    ({"kserve_deployment_mode": "Standard", "kserve_ingress_class_name": "gce"},
     "kserve_ingress_class_name: 'gce' would be written into spec.ingressClassName"),
])
def test_bad_input_stops_the_validation_play(host, extra_vars, expected):
    result = run_site(host, extra_vars)
    assert result.rc != 0
    output = result.stdout + result.stderr
    assert "Validate | Check inventory variables" in output
    assert "stopped before any change" in output
    assert expected in output


def test_out_of_support_pin_and_shadowed_old_name_warn_but_run(host):
    result = run_site(host, {"kserve_gke_versions": {"istio": "1.29.2"}, "gcp_project": "old-style"},
                      playbook="playbooks/validate.yml")
    assert result.rc == 0, result.stdout
    output = result.stdout + result.stderr
    assert "Istio 1.29.2 was expected to reach end of life on 2026-08-31" in output
    assert "gcp_project is ignored: kserve_gke_project is set" in output


def test_a_release_whose_kubernetes_range_is_unknown_warns_but_runs(host):
    result = run_site(host, {"kserve_gke_versions": {"istio": "1.31.0"}}, playbook="playbooks/validate.yml")
    assert result.rc == 0, result.stdout
    assert "Istio 1.31.0: the Kubernetes versions it supports are not known from upstream" in " ".join(
        (result.stdout + result.stderr).split())


def test_gke_sample_inventory_passes_validation(host):
    result = run_site(host, {}, inventory="inventories/gke", playbook="playbooks/validate.yml")
    assert result.rc == 0, result.stdout + result.stderr
    assert "failed=0" in result.stdout
