# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/teardown.yml on a lab: the stack goes, the cluster and the bucket
stay unless a confirmation names them, a wrong confirmation stops everything
before any change, and a second run changes nothing."""
from __future__ import annotations

import os
import subprocess

import pytest

from conftest import PLAYBOOK, ROOT, recap

STANDARD = ("-e", "kserve_deployment_mode=Standard")


def teardown(lab, *args):
    env = lab.client_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([PLAYBOOK, "playbooks/teardown.yml", "-i", "inventories/lab", *STANDARD, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def stack(lab):
    return lab.converged("gke_cluster,cert_manager,kserve,gcs_model", *STANDARD)


def test_a_confirmation_that_names_another_cluster_stops_before_any_change(stack):
    before = len(stack.requests())
    proc = teardown(stack, "-e", "kserve_gke_teardown_cluster=kserve-old")
    assert proc.returncode != 0
    assert "kserve_gke_teardown_cluster is kserve-old, but the cluster this inventory names is" in proc.stdout
    assert "Nothing was removed" in proc.stdout
    assert stack.writes(before) == []


def test_without_confirmations_the_stack_goes_and_the_cluster_and_bucket_stay(stack):
    proc = teardown(stack)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Keeping cluster" in proc.stdout and "Keeping the model bucket" in proc.stdout
    assert stack.kubectl("get", "crd", "-o", "name").strip() == ""
    assert stack.kubectl("get", "validatingwebhookconfigurations,mutatingwebhookconfigurations", "-o",
                         "name").strip() == ""
    namespaces = set(stack.kubectl("get", "namespaces", "-o", "name").split())
    assert namespaces == {"namespace/" + n for n in ("default", "kube-node-lease", "kube-public", "kube-system")}
    assert stack.gcs_client().lookup_bucket("kserve-lab-models") is not None


def test_confirmed_the_bucket_and_cluster_go_and_a_second_run_changes_nothing(stack):
    proc = teardown(stack, "-e", "kserve_gke_teardown_cluster=kserve-lab", "-e",
                    "kserve_gke_teardown_bucket=kserve-lab-models", "-e", "gcs_model_force_delete=true")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert stack.gcs_client().lookup_bucket("kserve-lab-models") is None
    env = stack.client_env(CLOUDSDK_CONFIG=os.path.join(stack.directory, "gcloud-teardown"))
    clusters = subprocess.run(["gcloud", "container", "clusters", "list", "--format=value(name)"],
                              capture_output=True, text=True, env=env, timeout=120, check=False)
    assert clusters.returncode == 0 and clusters.stdout.strip() == "", clusters.stderr
    before = len(stack.requests())
    again = teardown(stack, "-e", "kserve_gke_teardown_cluster=kserve-lab", "-e",
                     "kserve_gke_teardown_bucket=kserve-lab-models")
    assert again.returncode == 0, again.stdout[-3000:]
    assert recap(again)["changed"] == "0" and "The cluster does not answer" in again.stdout
    assert stack.writes(before) == []
