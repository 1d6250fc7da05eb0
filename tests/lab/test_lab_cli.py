# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/lab: up, status, env, reset, knobs, down; faults; GCS through the
google-cloud-storage library; no process left behind."""
from __future__ import annotations

import os
import stat
import subprocess
import time

import pytest
from google.auth.credentials import AnonymousCredentials
from google.api_core import exceptions
from google.cloud import storage

from conftest import Lab


@pytest.fixture
def fresh(tmp_path):
    lab = Lab(tmp_path / "lab")
    yield lab
    lab.run("down")


def test_up_is_quick_idempotent_and_down_leaves_nothing(fresh):
    fresh.run("up")
    pid = fresh.endpoints["pid"]
    assert "already up" in fresh.run("up").stdout
    status = fresh.run("status").stdout
    assert "lab: up (pid %d)" % pid in status
    for service in ("gke", "gcs", "serviceusage"):
        assert fresh.endpoints[service].startswith("http://127.0.0.1:")
    fresh.run("down")
    assert not fresh.pid_alive(pid)
    assert fresh.run("status", check=False).returncode == 3
    assert "lab: down" in fresh.run("status", check=False).stdout


def test_env_points_real_clients_at_the_lab(fresh):
    fresh.run("up")
    env = fresh.client_env()
    assert env["CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER"] == fresh.endpoints["gke"] + "/"
    assert env["STORAGE_EMULATOR_HOST"] == fresh.endpoints["gcs"]
    assert open(env["CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"]).read().strip() == fresh.endpoints["token"]
    shell = subprocess.run(["bash", "-c", 'eval "$(%s env)" && echo "$STORAGE_EMULATOR_HOST"' % os.path.join(
        os.path.dirname(__file__), "..", "..", "scripts", "lab")], capture_output=True, text=True, env=fresh.env,
        check=True)
    assert shell.stdout.strip() == fresh.endpoints["gcs"]


def test_google_cloud_storage_round_trip_and_reset(fresh):
    fresh.run("up")
    os.environ["STORAGE_EMULATOR_HOST"] = fresh.endpoints["gcs"]
    try:
        client = storage.Client(project="kserve-lab", credentials=AnonymousCredentials())
        bucket = client.create_bucket("kserve-lab-models")
        bucket.blob("model/saved_model.pb").upload_from_string(b"\x08\x01model")
        assert client.bucket("kserve-lab-models").blob("model/saved_model.pb").download_as_bytes() == b"\x08\x01model"
        assert [b.name for b in client.list_blobs("kserve-lab-models")] == ["model/saved_model.pb"]
        fresh.run("reset")  # a restart on new ports, with the state emptied
        os.environ["STORAGE_EMULATOR_HOST"] = fresh.endpoints["gcs"]
        client = storage.Client(project="kserve-lab", credentials=AnonymousCredentials())
        assert "kserve-lab-models" not in [b.name for b in client.list_buckets()]
    finally:
        del os.environ["STORAGE_EMULATOR_HOST"]
    logged = {(e["service"], e["method"]) for e in fresh.requests()}
    assert ("gcs", "GET") in logged


def curl_codes(url, token, count):
    """The HTTP status of `count` GETs, from curl (a client that does not retry)."""
    return [subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                            "Authorization: Bearer " + token, url],
                           capture_output=True, text=True, check=True).stdout for attempt in range(count)]


def test_injected_faults_are_seeded_and_logged(fresh):
    fresh.run("knobs", "--fault", "serviceusage=0.5:503,429", "--seed", "7")
    fresh.run("up")
    url = fresh.endpoints["serviceusage"] + "/v1/projects/kserve-lab/services/container.googleapis.com"
    codes = curl_codes(url, fresh.endpoints["token"], 40)
    assert set(codes) == {"200", "503", "429"}
    faults = [e for e in fresh.requests() if e.get("fault") and e["path"].endswith("/container.googleapis.com")]
    assert len(faults) == codes.count("503") + codes.count("429")
    fresh.run("reset")  # same seed, same sequence (on the new port)
    url = fresh.endpoints["serviceusage"] + "/v1/projects/kserve-lab/services/container.googleapis.com"
    assert curl_codes(url, fresh.endpoints["token"], 40) == codes


def test_unknown_fault_kind_is_refused(fresh):
    proc = fresh.run("knobs", "--fault", "gke=0.5:teapot", check=False)
    assert proc.returncode != 0 and "fault kind 'teapot'" in proc.stderr


def test_lab_stops_by_itself_when_idle(fresh):
    fresh.run("up", "--idle-timeout", "1")
    pid = fresh.endpoints["pid"]
    deadline = time.monotonic() + 15
    while fresh.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not fresh.pid_alive(pid)


def test_a_restart_keeps_what_a_project_keeps_and_a_reset_empties_everything(fresh):
    """Issue 16, item 3: enabled APIs survive down/up (they used to be forgotten, so the next run enabled
    them again); reset leaves no service account, token or kubeconfig behind; the token is 0600."""
    fresh.run("up")
    token = fresh.endpoints["token"]
    base = fresh.endpoints["serviceusage"] + "/v1/projects/kserve-lab/services/"
    enable = subprocess.run(["curl", "-s", "-X", "POST", "-H", "Authorization: Bearer " + token,
                             base + "iam.googleapis.com:enable"], capture_output=True, text=True, check=True)
    assert "EnableServiceResponse" in enable.stdout
    for name in ("token", "endpoints.json"):
        assert stat.S_IMODE(os.stat(os.path.join(fresh.directory, name)).st_mode) == 0o600, name
    fresh.run("down")
    fresh.run("up")   # on new ports
    base = fresh.endpoints["serviceusage"] + "/v1/projects/kserve-lab/services/"
    state = subprocess.run(["curl", "-s", "-H", "Authorization: Bearer " + token, base + "iam.googleapis.com"],
                           capture_output=True, text=True, check=True)
    assert '"ENABLED"' in state.stdout, state.stdout
    fresh.run("reset")
    assert fresh.endpoints["token"] != token
    state = subprocess.run(["curl", "-s", "-H", "Authorization: Bearer " + fresh.endpoints["token"],
                            fresh.endpoints["serviceusage"] + "/v1/projects/kserve-lab/services/iam.googleapis.com"],
                           capture_output=True, text=True, check=True)
    assert '"DISABLED"' in state.stdout, state.stdout
    assert not os.path.exists(os.path.join(fresh.directory, "iam.json"))


def test_gcs_download_links_survive_a_restart_and_odd_names_are_objects(fresh):
    """Issue 16, item 3: a stored object's mediaLink pointed at the port it was written through, dead after a
    restart; '..' in a name crashed the emulator without a line in requests.jsonl. GCS takes a/../b, a//b and
    a/./b as three objects and refuses only '.' and '..' (cloud.google.com/storage/docs/objects#naming)."""
    fresh.run("up")

    def client():
        return storage.Client(project="kserve-lab", credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": fresh.endpoints["gcs"]})

    bucket = client().create_bucket("restart-links")
    names = ["plain/one", "a/../b", "../../outside", "a//b", "a/./b"]
    for name in names:
        bucket.blob(name).upload_from_string(name.encode(), retry=None)
    with pytest.raises(exceptions.BadRequest, match="object name is invalid"):
        bucket.blob("..").upload_from_string(b"x", retry=None, timeout=10)
    assert any(r["status"] == 400 and r["service"] == "gcs" for r in fresh.requests())
    old = fresh.endpoints["gcs"]
    fresh.run("down")
    fresh.run("up")
    assert fresh.endpoints["gcs"] != old
    bucket = client().bucket("restart-links")
    assert sorted(b.name for b in client().list_blobs(bucket)) == sorted(names)
    for name in names:
        blob = bucket.get_blob(name)  # its mediaLink, which the download follows
        assert blob.media_link.startswith(fresh.endpoints["gcs"]), blob.media_link
        assert blob.download_as_bytes(retry=None, timeout=10) == name.encode()
    assert not [p for p in os.listdir(os.path.dirname(fresh.directory)) if p == "outside"]
