# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import copy

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils import gke
from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcp import GcpError

SYSTEM = {"name": "system", "machine_type": "e2-standard-4", "node_count": 1, "disk_size_gb": 100,
          "image_type": "COS_CONTAINERD", "spot": False, "labels": {}, "accelerator_type": None,
          "accelerator_count": 1, "driver_version": "DEFAULT", "autoscaling": {"enabled": False}}
GPU = dict(SYSTEM, name="gpu", machine_type="n1-standard-4", accelerator_type="nvidia-tesla-t4",
           autoscaling={"enabled": True, "min_nodes": 0, "max_nodes": 2})
PARAMS = {"name": "kserve-gpu", "release_channel": "REGULAR", "workload_identity": True, "labels": {"a": "b"},
          "cluster_version": None, "system_pool": SYSTEM, "gpu_pool": GPU}


def as_gke_returns(desired):
    """The cluster as GKE shows it: desired plus defaults, status and int64 as strings."""
    actual = copy.deepcopy(desired)
    actual["status"] = "RUNNING"
    for pool in actual["nodePools"]:
        pool["status"] = "RUNNING"
        pool["config"].update(diskType="pd-balanced", serviceAccount="default")
        pool["config"]["diskSizeGb"] = 100
        for acc in pool["config"].get("accelerators", []):
            acc["acceleratorCount"] = str(acc["acceleratorCount"])
    return actual


def test_cluster_body_has_gpu_driver_workload_identity_and_both_pools():
    body = gke.cluster_body(PARAMS, "proj")
    assert body["workloadIdentityConfig"] == {"workloadPool": "proj.svc.id.goog"}
    assert [p["name"] for p in body["nodePools"]] == ["system", "gpu"]
    gpu = body["nodePools"][1]
    assert gpu["config"]["accelerators"] == [{"acceleratorCount": "1", "acceleratorType": "nvidia-tesla-t4",
                                              "gpuDriverInstallationConfig": {"gpuDriverVersion": "DEFAULT"}}]
    assert gpu["config"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert gpu["autoscaling"] == {"enabled": True, "minNodeCount": 0, "maxNodeCount": 2}
    assert "accelerators" not in body["nodePools"][0]["config"]
    assert "initialClusterVersion" not in body


def test_cluster_body_without_workload_identity_or_gpu_pool():
    body = gke.cluster_body(dict(PARAMS, workload_identity=False, gpu_pool=None, cluster_version="1.33"), "p")
    assert "workloadIdentityConfig" not in body
    assert len(body["nodePools"]) == 1
    assert "workloadMetadataConfig" not in body["nodePools"][0]["config"]
    assert body["initialClusterVersion"] == "1.33"


def test_plan_is_empty_when_gke_matches():
    desired = gke.cluster_body(PARAMS, "proj")
    assert gke.plan(desired, as_gke_returns(desired)) == ([], [])


def test_plan_creates_a_missing_pool_and_converges_autoscaling():
    desired = gke.cluster_body(PARAMS, "proj")
    actual = as_gke_returns(desired)
    actual["nodePools"] = actual["nodePools"][:1]
    actions, drift = gke.plan(desired, actual)
    assert [(a["kind"], a["pool"]) for a in actions] == [("create_pool", "gpu")]
    assert drift == []
    actual = as_gke_returns(desired)
    actual["nodePools"][1]["autoscaling"] = {"enabled": True, "minNodeCount": 1, "maxNodeCount": 5}
    actions, drift = gke.plan(desired, actual)
    assert actions == [{"kind": "set_autoscaling", "pool": "gpu",
                        "body": {"autoscaling": {"enabled": True, "minNodeCount": 0, "maxNodeCount": 2}}}]


def test_plan_resizes_a_pool_without_autoscaling_only():
    desired = gke.cluster_body(PARAMS, "proj")
    actual = as_gke_returns(desired)
    actual["nodePools"][0]["instanceGroupUrls"] = [
        "https://www.googleapis.com/compute/v1/projects/proj/zones/us-central1-a/instanceGroupManagers/g1"]
    reads = gke.size_reads(desired, actual)
    assert reads == {"system": ["compute/v1/projects/proj/zones/us-central1-a/instanceGroupManagers/g1"]}
    actions = gke.plan(desired, actual, {"system": 3})[0]
    assert actions == [{"kind": "set_size", "pool": "system", "body": {"nodeCount": 1}, "from": 3}]
    assert gke.plan(desired, actual, {"system": 1}) == ([], [])
    after = gke.summary(gke.apply_actions(actual, actions))
    assert after["node_pools"][0]["node_count"] == 1


@pytest.mark.parametrize("path, value, words", [
    (("nodePools", 1, "config", "machineType"), "n1-standard-8", "machine type"),
    (("nodePools", 1, "config", "accelerators", 0, "acceleratorType"), "nvidia-l4", "accelerators"),
    (("nodePools", 0, "config", "imageType"), "UBUNTU_CONTAINERD", "image type"),
    (("workloadIdentityConfig", "workloadPool"), "other.svc.id.goog", "Workload Identity"),
    (("releaseChannel", "channel"), "STABLE", "release channel"),
])
def test_plan_reports_fields_it_does_not_change_in_place(path, value, words):
    desired = gke.cluster_body(PARAMS, "proj")
    actual = as_gke_returns(desired)
    target = actual
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    actions, drift = gke.plan(desired, actual)
    assert actions == []
    assert len(drift) == 1 and words in drift[0] and "Fix:" in drift[0]


def test_plan_notices_a_removed_workload_identity():
    desired = gke.cluster_body(PARAMS, "proj")
    actual = as_gke_returns(desired)
    del actual["workloadIdentityConfig"]
    drift = gke.plan(desired, actual)[1]
    assert "--workload-pool=proj.svc.id.goog" in drift[0]


def test_apply_actions_and_summary_show_the_change():
    desired = gke.cluster_body(PARAMS, "proj")
    actual = as_gke_returns(desired)
    actual["nodePools"] = actual["nodePools"][:1]
    after = gke.summary(gke.apply_actions(actual, gke.plan(desired, actual)[0]))
    assert [p["name"] for p in after["node_pools"]] == ["system", "gpu"]
    assert after["node_pools"][1]["accelerator_count"] == 1
    scaling = gke.summary(actual)["node_pools"][0]["autoscaling"]
    assert scaling == {"enabled": False, "min_nodes": None, "max_nodes": None}


@pytest.mark.parametrize("change, words", [
    ({"gpu_pool": dict(GPU, accelerator_count=0)}, "gpu_pool.accelerator_count"),
    ({"gpu_pool": dict(GPU, accelerator_type=None)}, "gpu_pool.accelerator_type is required"),
    ({"gpu_pool": dict(GPU, autoscaling={"enabled": True, "min_nodes": 3, "max_nodes": 2})}, "max_nodes"),
    ({"gpu_pool": dict(GPU, name="system")}, "must differ"),
    ({"system_pool": dict(SYSTEM, node_count=-1)}, "system_pool.node_count"),
])
def test_check_options_names_the_option(change, words):
    errors = gke.check_options(dict(PARAMS, **change))
    assert len(errors) == 1 and words in errors[0]


def test_check_options_accepts_the_defaults():
    assert gke.check_options(PARAMS) == []


class FakeSession:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def call(self, method, path, body=None, what=None, **kwargs):
        self.calls.append((method, path))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def waiter(session, timeout=100):
    clock = FakeClock()
    return gke.OperationWaiter(session, "p", "us-central1-a", timeout, 5, clock=clock, sleep=clock.sleep)


def test_waiter_polls_to_done_and_keeps_a_trail():
    op = {"name": "op1", "operationType": "CREATE_CLUSTER", "status": "PENDING"}
    session = FakeSession([dict(op, status="RUNNING"), dict(op, status="RUNNING"), dict(op, status="DONE")])
    w = waiter(session)
    assert w.wait(op)["status"] == "DONE"
    assert w.trail[0].startswith("CREATE_CLUSTER op1: PENDING -> RUNNING -> DONE")
    assert session.calls[0] == ("GET", "v1/projects/p/locations/us-central1-a/operations/op1")


def test_waiter_times_out_with_a_message():
    op = {"name": "op1", "operationType": "CREATE_CLUSTER", "status": "RUNNING"}
    w = waiter(FakeSession([op] * 100), timeout=20)
    with pytest.raises(GcpError, match="Timed out after 20 s .* op1"):
        w.wait(op)


def test_waiter_reports_a_failed_operation():
    op = {"name": "op1", "operationType": "CREATE_NODE_POOL", "status": "RUNNING"}
    done = dict(op, status="DONE", error={"code": 8, "message": "ZONE_RESOURCE_POOL_EXHAUSTED"})
    with pytest.raises(GcpError, match="op1 .* failed: ZONE_RESOURCE_POOL_EXHAUSTED"):
        waiter(FakeSession([done])).wait(op)


def test_call_when_free_waits_out_another_operation_only():
    busy = GcpError("busy", status=400, reason="FAILED_PRECONDITION")
    session = FakeSession([busy, busy, {"name": "op2"}])
    w = waiter(session)
    assert w.call_when_free("POST", "x", {}, "create node pool gpu") == {"name": "op2"}
    assert len(w.trail) == 2 and "cluster busy" in w.trail[0]
    with pytest.raises(GcpError, match="quota"):
        waiter(FakeSession([GcpError("quota", status=403, reason="forbidden")])).call_when_free("POST", "x", {}, "w")


SERVER_CONFIG = {"channels": [
    {"channel": "REGULAR", "defaultVersion": "1.35.8-gke.1036000",
     "validVersions": ["1.35.9-gke.1185000", "1.35.8-gke.1036000", "1.34.9-gke.1132000"]},
    {"channel": "EXTENDED", "defaultVersion": "1.34.8-gke.1425000",
     "validVersions": ["1.34.8-gke.1425000", "1.33.9-gke.1205000"]},
    {"channel": "STABLE", "defaultVersion": "1.34.8-gke.1425000",
     "validVersions": ["1.34.8-gke.1425000", "1.33.9-gke.1205000"]}]}


@pytest.mark.parametrize("channel, asked, resolved", [
    ("REGULAR", None, "1.35.8-gke.1036000"),
    ("REGULAR", "", "1.35.8-gke.1036000"),
    ("REGULAR", "default", "1.35.8-gke.1036000"),
    ("REGULAR", "1.35", "1.35.9-gke.1185000"),
    ("REGULAR", "1.34.9", "1.34.9-gke.1132000"),
    ("REGULAR", "1.35.8-gke.1036000", "1.35.8-gke.1036000"),
    ("REGULAR", "latest", "1.35.9-gke.1185000"),
    ("EXTENDED", "1.33", "1.33.9-gke.1205000"),
])
def test_check_version_resolves_what_the_channel_offers(channel, asked, resolved):
    assert gke.check_version(SERVER_CONFIG, channel, asked, "us-central1-a") == (resolved, [])


@pytest.mark.parametrize("channel, asked, fragments", [
    ("REGULAR", "1.33", ["cluster_version 1.33 is not offered by GKE's REGULAR release channel in us-central1-a",
                         "The channel offers 1.35.9-gke.1185000, 1.35.8-gke.1036000 (default), 1.34.9-gke.1132000.",
                         "Fix: set cluster_version to one of the minors it offers (1.35, 1.34), or to default, or set "
                         "release_channel to EXTENDED or STABLE, which offer 1.33 there."]),
    ("REGULAR", "1.31", ["cluster_version 1.31 is not offered", "or to default."]),
    ("REGULAR", "1.35.1-gke.1", ["cluster_version 1.35.1-gke.1 is not offered"]),
    ("RAPID", "1.35", ["release_channel RAPID: GKE offers no such channel in us-central1-a (it offers EXTENDED, "
                       "REGULAR, STABLE)"]),
])
def test_check_version_refuses_what_the_channel_does_not_offer(channel, asked, fragments):
    resolved, errors = gke.check_version(SERVER_CONFIG, channel, asked, "us-central1-a")
    assert resolved is None and len(errors) == 1
    for fragment in fragments:
        assert fragment in errors[0]


LISTING = {"locations": [{"name": "projects/p/locations/us-central1", "type": "REGION"},
                         {"name": "projects/p/locations/us-central1-a", "type": "ZONE"},
                         {"name": "projects/p/locations/us-central1-f", "type": "ZONE"},
                         {"name": "us-east1", "type": "REGION"}, {"name": "us-east1-b", "type": "ZONE"},
                         {"name": "europe-west4", "type": "REGION"}]}


@pytest.mark.parametrize("location", ["us-central1", "us-central1-f", "us-east1", "us-east1-b"])
def test_location_problem_accepts_what_gke_lists(location):
    assert gke.location_problem(location, LISTING) is None


@pytest.mark.parametrize("location, words", [
    ("us-central1-z", ["location: us-central1-z", "us-central1 (a regional cluster)", "us-central1-a, us-central1-f"]),
    ("us-east1-a", ["us-east1-b"]),
    ("mars-west1", ["location: mars-west1 is not", "us-central1"]),
    ("europe-west5", ["did you mean europe-west4?"]),
])
def test_location_problem_names_the_option_and_what_exists(location, words):
    problem = gke.location_problem(location, LISTING)
    for word in words:
        assert word in problem


def test_plan_sets_missing_labels_and_keeps_foreign_ones():
    desired = gke.cluster_body(dict(PARAMS, labels={"team": "ml", "env": 3}), "proj")
    actual = as_gke_returns(desired)
    actual.update(resourceLabels={"team": "ops", "goog-gke-thing": "x"}, labelFingerprint="abcd1234")
    actions, drift = gke.plan(desired, actual)
    assert drift == []
    assert actions == [{"kind": "set_labels", "pool": None, "from": {"team": "ops", "goog-gke-thing": "x"},
                        "body": {"resourceLabels": {"team": "ml", "env": "3", "goog-gke-thing": "x"},
                                 "labelFingerprint": "abcd1234"}}]
    after = gke.summary(gke.apply_actions(actual, actions))
    assert after["labels"] == {"team": "ml", "env": "3", "goog-gke-thing": "x"}
    actual["resourceLabels"] = dict(actions[0]["body"]["resourceLabels"])
    assert gke.plan(desired, actual) == ([], [])
