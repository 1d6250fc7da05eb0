# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gke_cluster role against the lab: check mode sends no write, a second
run sends none either, transient faults are ridden out, and a permanent one
stops with a message that says what to do, after which a re-run converges."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import Lab, recap

from kserve_lab.iam import LAB_ACCOUNT  # pylint: disable=wrong-import-order


def test_bad_input_is_stopped_before_any_request(lab):
    before = len(lab.requests())
    proc = lab.play("gke_cluster", "-e", "gke_cluster_gpu_count=0")
    assert proc.returncode != 0
    assert "gke_cluster_gpu_count" in proc.stdout
    assert lab.requests()[before:] == []


@pytest.mark.parametrize("extra, words", [
    ('{"gcs_model_storage_class": "COLDEST"}', ["gcs_model_storage_class: value of gcs_model_storage_class must be",
                                                "Fix: use one of STANDARD, NEARLINE, COLDLINE, ARCHIVE"]),
    ('{"knative_domain_mode": "custom"}', ["knative_domain_mode is custom but knative_domain is empty. Fix:"]),
    ('{"inference_service_models": [{"name": "dogs", "gpus": -1}]}', ["gpus -1 is not a number of GPUs"]),
    ('{"inference_service_models": [{"name": "dogs", "storage_uri": "s3://b/m"}]}', ["is in S3"]),
    ('{"inference_service_models": [{"gpus": 1}]}', ["inference_service_models:", "missing required arguments: name"]),
])
def test_settings_of_later_roles_are_refused_before_the_first_request(lab, extra, words):
    """Issue 16, item 7: role settings and InferenceService items were checked only when their role ran, after
    the cluster and the stack were built; the validation play now checks them first, whatever the tags."""
    before = len(lab.requests())
    proc = lab.play("gke_cluster", "-e", extra)
    assert proc.returncode != 0
    text = " ".join(proc.stdout.split())
    for word in words:
        assert word in text, text[-2000:]
    assert lab.requests()[before:] == []


def test_check_mode_on_an_empty_project_writes_nothing(lab):
    before = len(lab.requests())
    proc = lab.play("gke_cluster", "--check", "--diff")
    assert proc.returncode == 0, proc.stdout
    assert "a real run enables it and then creates cluster kserve-lab" in proc.stdout
    assert lab.writes(before) == []


def test_a_version_the_channel_does_not_offer_is_refused_before_the_cluster_is_created(lab):
    """The old default, Kubernetes 1.33 on REGULAR: GKE retired it from that channel in 2026. The role asks
    GKE's serverConfig first and names what the channel offers, and which channel offers 1.33, rather than
    sending a create that GKE refuses (or, before the lab knew channels, one that a real GKE would refuse)."""
    assert lab.play("gke_cluster", "--check").returncode == 0
    proc = lab.play("gke_cluster", "-e", "gke_cluster_version=1.33")  # enables the API, then stops
    assert proc.returncode != 0
    assert "cluster_version 1.33 is not offered by GKE's REGULAR release channel in us-central1-a" in proc.stdout
    assert "1.35.8-gke.1036000 (default)" in proc.stdout and "set release_channel to EXTENDED or STABLE" in proc.stdout
    assert "cluster_version is gke_cluster_version (from kserve_gke_versions.kubernetes)" in proc.stdout
    assert [r for r in lab.writes() if r["service"] == "gke"] == []
    checked = lab.play("gke_cluster", "--check", "-e", "gke_cluster_version=1.33")
    assert checked.returncode != 0 and "is not offered" in checked.stdout


def test_converge_then_a_second_run_changes_and_writes_nothing(lab):
    proc = lab.play("gke_cluster")
    assert proc.returncode == 0, proc.stdout
    assert "CREATE_CLUSTER" in proc.stdout and "answers at https://127.0.0.1:" in proc.stdout
    assert "create cluster kserve-lab (Kubernetes 1.35.9-gke.1185000)" in proc.stdout
    assert "with Kubernetes v1.35.9-gke.1185000" in proc.stdout
    kubeconfig = os.path.join(lab.directory, "kserve-gke.kubeconfig")
    assert oct(os.stat(kubeconfig).st_mode & 0o777) == "0o600"
    assert "gke-kserve-lab-gpu-" in lab.kubectl("get", "nodes", "-o", "name")
    before = len(lab.requests())
    again = lab.play("gke_cluster")
    assert again.returncode == 0, again.stdout
    assert recap(again)["changed"] == "0"
    assert lab.writes(before) == []
    checked = lab.play("gke_cluster", "--check")
    assert checked.returncode == 0 and recap(checked)["changed"] == "0"


def test_the_exec_kubeconfig_reaches_the_cluster_through_gke_gcloud_auth_plugin(lab, tmp_path):
    config = str(tmp_path / "exec.kubeconfig")
    proc = lab.play("gke_cluster", "-e", "gke_cluster_kubeconfig_auth=exec", "-e", "kserve_gke_kubeconfig=" + config)
    assert proc.returncode == 0, proc.stdout[-3000:]
    # the plugin asks gcloud for the token, and the cluster asks the IAM twin whose it is (as GKE asks Google)
    whoami = subprocess.run(["kubectl", "--kubeconfig", config, "auth", "whoami", "-o", "jsonpath={.status.userInfo}"],
                            capture_output=True, text=True, env=lab.client_env(CLOUDSDK_CONFIG=str(tmp_path / "gcloud")),
                            check=False)
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout) == {"username": LAB_ACCOUNT, "groups": ["system:authenticated"]}


def test_check_mode_for_a_cluster_still_to_create_skips_the_roles_that_read_it(lab):
    """Issue 16, item 4: another cluster of the project exists (its kubeconfig context too); site.yml --check for
    a new one used to go on into nvidia_driver and fail on the missing context. It now says what it skips."""
    before = len(lab.requests())
    proc = lab.play("all", "--check", "-e", "kserve_gke_cluster_name=second")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Cluster second does not exist yet, so this check run skips the roles that read it" in " ".join(
        proc.stdout.split())
    assert lab.writes(before) == []


def test_autoscaling_drift_is_converged_and_fixed_drift_is_refused(lab):
    lab.play("gke_cluster")
    before = len(lab.requests())
    proc = lab.play("gke_cluster", "-e", "gke_cluster_gpu_autoscaling=true", "-e", "gke_cluster_gpu_max_nodes=3")
    assert proc.returncode == 0, proc.stdout
    assert [r["path"].rsplit("/", 1)[1] for r in lab.writes(before)] == ["gpu:setAutoscaling"]
    before = len(lab.requests())
    proc = lab.play("gke_cluster", "-e", "gke_cluster_gpu_autoscaling=true", "-e", "gke_cluster_gpu_max_nodes=3",
                    "-e", "gke_cluster_system_node_count=2")
    assert proc.returncode == 0 and "resize node pool system from 1 to 2 nodes per zone" in proc.stdout
    assert [r["path"].rsplit("/", 1)[1] for r in lab.writes(before)] == ["system:setSize"]
    nodes = [n for n in lab.kubectl("get", "nodes", "-o", "name").split() if "-system-" in n]
    assert len(nodes) == 2
    before = len(lab.requests())
    again = lab.play("gke_cluster", "-e", "gke_cluster_gpu_autoscaling=true", "-e", "gke_cluster_gpu_max_nodes=3",
                     "-e", "gke_cluster_system_node_count=2")
    assert recap(again)["changed"] == "0" and lab.writes(before) == []
    before = len(lab.requests())
    proc = lab.play("gke_cluster", "-e", "gke_cluster_gpu_autoscaling=true", "-e", "gke_cluster_gpu_max_nodes=3",
                    "-e", "gke_cluster_gpu_machine_type=n1-standard-8")
    assert proc.returncode != 0
    assert "machine type is 'n1-standard-4', wanted 'n1-standard-8'" in proc.stdout and "Fix:" in proc.stdout
    assert lab.writes(before) == []


def test_a_location_gke_does_not_offer_is_refused_before_anything_gke_is_written(lab):
    """Issue 16, item 7: us-central1-z and mars-west1 pass the format check; GKE's list of locations does not
    have them, and the role says so, with the region's zones or the nearest regions, before any GKE write."""
    before = len(lab.requests())
    for location, offered in (("us-central1-z", "us-central1-a, us-central1-b, us-central1-c, us-central1-f"),
                              ("mars-west1", "use a region GKE offers")):
        proc = lab.play("gke_cluster", "-e", "kserve_gke_location=%s" % location)
        assert proc.returncode != 0
        text = " ".join(proc.stdout.split())
        assert "location: %s is not a region or zone that GKE offers" % location in text, text[-2000:]
        assert offered in text and "location is kserve_gke_location" in text
    assert [r for r in lab.writes(before) if r["service"] == "gke"] == []


def test_label_drift_is_converged_keeping_labels_set_by_others(lab, tmp_path):
    """Issue 16, item 7: labels were never updated on an existing cluster. The role now sets the ones it is
    given, with GKE's fingerprint, and keeps the ones gcloud (or GKE) put there."""
    assert lab.play("gke_cluster").returncode == 0
    env = lab.client_env(CLOUDSDK_CONFIG=str(tmp_path / "gcloud"))
    done = subprocess.run(["gcloud", "container", "clusters", "update", "kserve-lab", "--zone", "us-central1-a",
                           "--update-labels", "owner=someone"], capture_output=True, text=True, env=env,
                          timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    labels = '{"gke_cluster_labels": {"team": "ml", "cost-center": "42"}}'
    before = len(lab.requests())
    proc = lab.play("gke_cluster", "-e", labels)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "set the cluster labels (cost-center: (none) -> 42, team: (none) -> ml)" in proc.stdout
    assert [r["path"].rsplit("/", 1)[1] for r in lab.writes(before)] == ["kserve-lab:setResourceLabels"]
    described = subprocess.run(["gcloud", "container", "clusters", "describe", "kserve-lab", "--zone",
                                "us-central1-a", "--format", "json(resourceLabels)"], capture_output=True, text=True,
                               env=env, timeout=180, check=True)
    # setResourceLabels replaces the whole set: gcloud's --update-labels sent owner alone, dropping managed-by.
    assert json.loads(described.stdout)["resourceLabels"] == {"owner": "someone", "team": "ml", "cost-center": "42"}
    before = len(lab.requests())
    assert recap(lab.play("gke_cluster", "-e", labels))["changed"] == "0"
    assert lab.writes(before) == []


@pytest.fixture
def faulty(tmp_path):
    instance = Lab(tmp_path / "lab")
    instance.run("knobs", "--fault", "gke=0.3:503,429,reset", "--fault", "serviceusage=0.3:503,reset",
                 "--seed", "11")
    instance.run("up", "--idle-timeout", "300")
    yield instance
    instance.run("down")


def test_transient_faults_are_ridden_out_and_quota_is_explained(faulty):
    proc = faulty.play("gke_cluster", "-e", "gke_cluster_gpu_node_count=5")
    assert proc.returncode != 0
    assert "NVIDIA_T4_GPUS" in proc.stdout and "ask for more quota" in proc.stdout
    proc = faulty.play("gke_cluster")
    assert proc.returncode == 0, proc.stdout
    injected = [r for r in faulty.requests() if r.get("fault")]
    assert injected, "the knobs injected no fault, so this test proves nothing"
    assert recap(faulty.play("gke_cluster"))["changed"] == "0"


def test_the_access_token_never_reaches_the_output_even_with_vvv(lab):
    token = lab.client_env()["GCP_ACCESS_TOKEN"]
    proc = lab.play("gke_cluster", "-vvv", "-e", "kserve_gke_auth_kind=accesstoken",
                    "-e", "kserve_gke_access_token=%s" % token)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in proc.stdout
    assert token not in proc.stdout + proc.stderr
