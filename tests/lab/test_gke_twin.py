# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The GKE and Service Usage twins, driven by the real clients: the gcloud CLI
and google-api-python-client with the official container.v1 discovery document."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from kserve_lab.iam import LAB_ACCOUNT  # pylint: disable=wrong-import-order

PROJECT = "kserve-lab"
ZONE = "us-central1-a"
PARENT = "projects/%s/locations/%s" % (PROJECT, ZONE)


def gcloud(lab, tmp_path, *args):
    env = lab.client_env(CLOUDSDK_CONFIG=str(tmp_path / "gcloud"), KUBECONFIG=str(tmp_path / "kubeconfig"))
    return subprocess.run(["gcloud"] + list(args), capture_output=True, text=True, env=env, timeout=180, check=False)


def api(lab, name, version):
    endpoint = lab.endpoints["gke" if name in ("container", "compute") else name] + "/"
    if name == "compute":  # an override replaces rootUrl and servicePath together
        endpoint += "compute/v1/"
    return discovery.build(name, version, credentials=Credentials(lab.endpoints["token"]),
                           client_options={"api_endpoint": endpoint}, static_discovery=True, cache_discovery=False)


def wait(container, operation, timeout=60):
    seen = [operation["status"]]
    deadline = time.monotonic() + timeout
    while operation["status"] != "DONE":
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)
        operation = container.projects().locations().operations().get(
            name="%s/operations/%s" % (PARENT, operation["name"])).execute()
        if operation["status"] != seen[-1]:
            seen.append(operation["status"])
    return operation, seen


def gpu_pool(name="gpu", nodes=1, count="1"):
    return {"name": name, "initialNodeCount": nodes,
            "config": {"machineType": "n1-standard-4",
                       "accelerators": [{"acceleratorCount": count, "acceleratorType": "nvidia-tesla-t4",
                                         "gpuDriverInstallationConfig": {"gpuDriverVersion": "DEFAULT"}}]}}


def error(exc):
    return json.loads(exc.content)["error"]


def test_disabled_api_is_refused_until_enabled(lab, tmp_path):
    proc = gcloud(lab, tmp_path, "container", "clusters", "list")
    assert proc.returncode != 0
    assert "code=403" in proc.stderr and "Kubernetes Engine API has not been used in project" in proc.stderr
    usage = api(lab, "serviceusage", "v1")
    name = "projects/%s/services/container.googleapis.com" % PROJECT
    assert usage.services().get(name=name).execute()["state"] == "DISABLED"
    assert gcloud(lab, tmp_path, "services", "enable", "container.googleapis.com").returncode == 0
    assert usage.services().get(name=name).execute()["state"] == "ENABLED"
    assert gcloud(lab, tmp_path, "container", "clusters", "list").returncode == 0


def test_gcloud_creates_describes_and_gets_credentials(lab, tmp_path):
    create = gcloud(lab, tmp_path, "container", "clusters", "create", "gcloud-made", "--zone", ZONE,
                    "--num-nodes", "1", "--machine-type", "n1-standard-4",
                    "--accelerator", "type=nvidia-tesla-t4,count=1,gpu-driver-version=default",
                    "--workload-pool", "%s.svc.id.goog" % PROJECT)
    assert create.returncode == 0, create.stderr
    assert "kubeconfig entry generated for gcloud-made" in create.stderr
    described = json.loads(gcloud(lab, tmp_path, "container", "clusters", "describe", "gcloud-made",
                                  "--zone", ZONE, "--format", "json").stdout)
    assert described["status"] == "RUNNING"
    assert described["currentNodeCount"] == 1
    assert described["workloadIdentityConfig"] == {"workloadPool": "%s.svc.id.goog" % PROJECT}
    (pool,) = described["nodePools"]
    assert pool["config"]["accelerators"][0]["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "DEFAULT"}
    assert described["masterAuth"]["clusterCaCertificate"]
    creds = gcloud(lab, tmp_path, "container", "clusters", "get-credentials", "gcloud-made", "--zone", ZONE)
    assert creds.returncode == 0, creds.stderr
    kubeconfig = (tmp_path / "kubeconfig").read_text()
    assert "https://%s" % described["endpoint"] in kubeconfig
    # kubectl gets its token from gke-gcloud-auth-plugin (which asks gcloud), and the cluster takes it as GKE does:
    # the Google account, no group of Kubernetes' own
    whoami = subprocess.run(["kubectl", "auth", "whoami", "-o", "json"], capture_output=True, text=True, check=False,
                            env=lab.client_env(CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
                                               KUBECONFIG=str(tmp_path / "kubeconfig")))
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"] == {"username": LAB_ACCOUNT,
                                                               "groups": ["system:authenticated"]}
    listed = gcloud(lab, tmp_path, "container", "clusters", "list", "--format", "value(name,status)")
    assert "gcloud-made\tRUNNING" in listed.stdout
    again = gcloud(lab, tmp_path, "container", "clusters", "create", "gcloud-made", "--zone", ZONE, "--num-nodes", "1")
    assert "code=409" in again.stderr and "Already exists: projects/kserve-lab/locations/us-central1-a/clusters/" \
        "gcloud-made." in again.stderr
    delete = gcloud(lab, tmp_path, "container", "clusters", "delete", "gcloud-made", "--zone", ZONE, "--quiet")
    assert delete.returncode == 0, delete.stderr
    gone = gcloud(lab, tmp_path, "container", "clusters", "describe", "gcloud-made", "--zone", ZONE)
    assert "code=404" in gone.stderr


def test_operations_go_pending_running_done_and_block_others(lab):
    container = api(lab, "container", "v1")
    clusters = container.projects().locations().clusters()
    op = clusters.create(parent=PARENT, body={"cluster": {"name": "ops", "nodePools": [gpu_pool()]}}).execute()
    assert op["operationType"] == "CREATE_CLUSTER" and op["status"] == "PENDING"
    with pytest.raises(HttpError) as busy:
        clusters.nodePools().create(parent=PARENT + "/clusters/ops", body={"nodePool": {"name": "x"}}).execute()
    assert busy.value.resp.status == 400 and error(busy.value)["status"] == "FAILED_PRECONDITION"
    assert "is currently create cluster on cluster ops" in error(busy.value)["message"]
    assert clusters.get(name=PARENT + "/clusters/ops").execute()["status"] == "PROVISIONING"
    done, seen = wait(container, op)
    assert seen == ["PENDING", "RUNNING", "DONE"] and done["endTime"]
    assert clusters.get(name=PARENT + "/clusters/ops").execute()["status"] == "RUNNING"

    pools = clusters.nodePools()
    resize = pools.setSize(name=PARENT + "/clusters/ops/nodePools/gpu", body={"nodeCount": 2}).execute()
    assert pools.get(name=PARENT + "/clusters/ops/nodePools/gpu").execute()["initialNodeCount"] == 1
    wait(container, resize)
    # As on GKE: the pool keeps initialNodeCount as created; its instance group managers have the size.
    pool = pools.get(name=PARENT + "/clusters/ops/nodePools/gpu").execute()
    assert pool["initialNodeCount"] == 1
    compute = api(lab, "compute", "v1")
    for url in pool["instanceGroupUrls"]:
        parts = url.split("/compute/v1/")[1].split("/")
        project, zone, group = parts[1], parts[3], parts[5]
        assert compute.instanceGroupManagers().get(project=project, zone=zone,
                                                   instanceGroupManager=group).execute()["targetSize"] == 2
    with pytest.raises(HttpError) as missing:
        compute.instanceGroupManagers().get(project="kserve-lab", zone=ZONE, instanceGroupManager="nope").execute()
    assert missing.value.resp.status == 404
    scaling = {"autoscaling": {"enabled": True, "minNodeCount": 1, "maxNodeCount": 3}}
    wait(container, pools.setAutoscaling(name=PARENT + "/clusters/ops/nodePools/gpu", body=scaling).execute())
    assert pools.get(name=PARENT + "/clusters/ops/nodePools/gpu").execute()["autoscaling"] == scaling["autoscaling"]
    listed = container.projects().locations().operations().list(parent=PARENT).execute()["operations"]
    assert {"CREATE_CLUSTER", "SET_NODE_POOL_SIZE", "SET_NODE_POOL_MANAGEMENT"} <= {o["operationType"] for o in listed}
    wait(container, clusters.delete(name=PARENT + "/clusters/ops").execute())


@pytest.mark.parametrize("body, status, fragment", [
    ({"cluster": {"name": "bad", "colour": "blue"}}, 400,
     'Invalid JSON payload received. Unknown name "colour" at \'cluster\': Cannot find field.'),
    ({"cluster": {"name": "bad", "initialNodeCount": "three"}}, 400,
     "Invalid value at 'cluster.initial_node_count' (TYPE_INT32), \"three\""),
    ({"cluster": {"name": "bad", "nodePools": [dict(gpu_pool(), config={"accelerators": [
        {"acceleratorCount": "1", "acceleratorType": "nvidia-tesla-t4",
         "gpuDriverInstallationConfig": {"gpuDriverVersion": "NEWEST"}}]})]}}, 400,
     "(TYPE_ENUM), \"NEWEST\""),
    ({"cluster": {"name": "Bad_Name"}}, 400, 'Invalid value for field "cluster.name": "Bad_Name"'),
    ({"cluster": {"name": "greedy", "nodePools": [gpu_pool(nodes=3, count="2")]}}, 403,
     "Insufficient regional quota to satisfy request: resource \"NVIDIA_T4_GPUS\": request requires '6.0'"),
])
def test_refusals_match_the_real_api(lab, body, status, fragment):
    clusters = api(lab, "container", "v1").projects().locations().clusters()
    with pytest.raises(HttpError) as refused:
        clusters.create(parent=PARENT, body=body).execute()
    assert refused.value.resp.status == status
    assert fragment in error(refused.value)["message"]
    with pytest.raises(HttpError) as missing:
        clusters.get(name=PARENT + "/clusters/%s" % body["cluster"]["name"]).execute()
    assert missing.value.resp.status == 404


def test_gcloud_reads_what_each_channel_offers_in_a_location(lab, tmp_path):
    proc = gcloud(lab, tmp_path, "container", "get-server-config", "--zone", ZONE, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)
    channels = {c["channel"]: c for c in config["channels"]}
    assert set(channels) == {"RAPID", "REGULAR", "STABLE", "EXTENDED"}
    assert channels["REGULAR"]["defaultVersion"] == config["defaultClusterVersion"] == "1.35.8-gke.1036000"
    assert not [v for v in channels["REGULAR"]["validVersions"] if v.startswith("1.33.")]  # retired from REGULAR
    assert [v for v in channels["EXTENDED"]["validVersions"] if v.startswith("1.33.")]
    assert config["validMasterVersions"] == sorted(config["validMasterVersions"], reverse=True,
                                                   key=lambda v: [int(n) for n in v.replace("-gke.", ".").split(".")])
    # A release still rolling out is offered in some regions before others.
    other = json.loads(gcloud(lab, tmp_path, "container", "get-server-config", "--zone", "europe-west4-a",
                              "--format", "json").stdout)
    assert set(other["validMasterVersions"]) < set(config["validMasterVersions"])


@pytest.mark.parametrize("channel, version, resolved", [
    ("REGULAR", None, "1.35.8-gke.1036000"),
    ("REGULAR", "1.35", "1.35.9-gke.1185000"),
    ("REGULAR", "1.34.8", "1.34.8-gke.1425000"),
    ("EXTENDED", "1.33", "1.33.9-gke.1205000"),
    ("RAPID", "latest", "1.36.4-gke.1052000"),
])
def test_create_resolves_version_aliases_as_documented(lab, channel, version, resolved):
    clusters = api(lab, "container", "v1").projects().locations().clusters()
    cluster = {"name": "versioned", "releaseChannel": {"channel": channel}, "nodePools": [{"name": "p"}]}
    if version:
        cluster["initialClusterVersion"] = version
    wait(api(lab, "container", "v1"), clusters.create(parent=PARENT, body={"cluster": cluster}).execute())
    found = clusters.get(name=PARENT + "/clusters/versioned").execute()
    assert found["currentMasterVersion"] == resolved
    wait(api(lab, "container", "v1"), clusters.delete(name=PARENT + "/clusters/versioned").execute())


@pytest.mark.parametrize("channel, version, message", [
    ("REGULAR", "1.33", 'Master version must be one of "REGULAR" channel supported versions [1.35.9-gke.1185000, '),
    ("STABLE", "1.36.3-gke.1104000", 'Master version must be one of "STABLE" channel supported versions ['),
    ("REGULAR", "1.29", 'Master version "1.29" is unsupported.'),
    ("REGULAR", "1.35.1-gke.1", 'Master version "1.35.1-gke.1" is unsupported.'),
])
def test_create_refuses_a_version_the_channel_does_not_offer(lab, channel, version, message):
    clusters = api(lab, "container", "v1").projects().locations().clusters()
    body = {"cluster": {"name": "refused", "releaseChannel": {"channel": channel}, "initialClusterVersion": version}}
    with pytest.raises(HttpError) as refused:
        clusters.create(parent=PARENT, body=body).execute()
    assert refused.value.resp.status == 400 and error(refused.value)["status"] == "INVALID_ARGUMENT"
    assert message in error(refused.value)["message"]


def test_regional_cluster_spans_three_zones_for_quota(lab):
    clusters = api(lab, "container", "v1").projects().locations().clusters()
    with pytest.raises(HttpError) as refused:
        clusters.create(parent="projects/%s/locations/us-central1" % PROJECT,
                        body={"cluster": {"name": "regional", "nodePools": [gpu_pool(nodes=2)]}}).execute()
    assert "request requires '6.0' and is short '2.0'" in error(refused.value)["message"]


@pytest.mark.parametrize("header", [None, "Bearer not-the-lab-token"])
def test_missing_or_bad_token_is_refused(lab, header):
    request = urllib.request.Request(lab.endpoints["gke"] + "/v1/%s/clusters" % PARENT)
    if header:
        request.add_header("Authorization", header)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)  # pylint: disable=consider-using-with
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["error"]["status"] == "UNAUTHENTICATED"


def test_every_request_is_logged(lab):
    entries = lab.requests()
    assert entries and all({"service", "method", "path", "status", "mutating", "time"} <= set(e) for e in entries)
    creates = [e for e in entries if e["service"] == "gke" and e["method"] == "POST"]
    assert creates and all(e["mutating"] for e in creates)
    assert any(e["service"] == "serviceusage" for e in entries)
    assert not any(e["mutating"] for e in entries if e["method"] == "GET")


def test_locations_are_listed_in_v1beta1_and_others_refused(lab, tmp_path):
    """GKE lists its locations only in v1beta1; a location it does not have gets 400 on any call, as gcloud
    shows it (terraform-google-kubernetes-engine#444: 'code=400, message=Location "=europe-west2-a" does not
    exist.')."""
    listing = api(lab, "container", "v1beta1").projects().locations().list(
        parent="projects/%s" % PROJECT).execute()["locations"]
    names = {item["name"].rsplit("/", 1)[1]: item["type"] for item in listing}
    assert names["us-central1"] == "REGION" and names["us-central1-f"] == "ZONE"
    assert "us-central1-d" not in names and "us-east1-a" not in names and "us-east1-b" in names
    proc = gcloud(lab, tmp_path, "container", "clusters", "describe", "x", "--zone", "us-central1-z")
    assert proc.returncode != 0
    assert 'code=400, message=Location "us-central1-z" does not exist.' in proc.stderr
    with pytest.raises(HttpError) as refused:
        api(lab, "container", "v1").projects().locations().getServerConfig(
            name="projects/%s/locations/mars-west1" % PROJECT).execute()
    assert refused.value.resp.status == 400


def test_labels_are_set_whole_with_the_current_fingerprint(lab):
    container = api(lab, "container", "v1")
    clusters = container.projects().locations().clusters()
    body = {"cluster": {"name": "labelled", "resourceLabels": {"a": "1"}, "nodePools": [{"name": "p"}]}}
    wait(container, clusters.create(parent=PARENT, body=body).execute())
    name = PARENT + "/clusters/labelled"
    first = clusters.get(name=name).execute()
    for stale in ("", "0000beef"):
        with pytest.raises(HttpError) as refused:
            clusters.setResourceLabels(name=name, body={"resourceLabels": {"b": "2"},
                                                        "labelFingerprint": stale}).execute()
        assert refused.value.resp.status == 400 and error(refused.value)["status"] == "FAILED_PRECONDITION"
        assert "Labels could not be set due to fingerprint mismatch" in error(refused.value)["message"]
    wait(container, clusters.setResourceLabels(name=name, body={
        "resourceLabels": {"b": "2"}, "labelFingerprint": first["labelFingerprint"]}).execute())
    second = clusters.get(name=name).execute()
    assert second["resourceLabels"] == {"b": "2"} and second["labelFingerprint"] != first["labelFingerprint"]
    wait(container, clusters.delete(name=name).execute())
