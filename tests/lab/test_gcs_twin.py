# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The GCS twin refuses what real GCS refuses, seen through google-cloud-storage:
generation preconditions, bucket metadata kept on insert, JSON 404s, public
access prevention and uniform bucket-level access."""
from __future__ import annotations

import pytest
import requests
from google.api_core import exceptions


@pytest.fixture(scope="module")
def client(lab):
    return lab.gcs_client()


@pytest.fixture(scope="module")
def bucket(client):
    created = client.bucket("twin-checks")
    created.iam_configuration.uniform_bucket_level_access_enabled = True
    created.iam_configuration.public_access_prevention = "enforced"
    created.labels = {"team": "ml"}
    return client.create_bucket(created, location="us-central1")


def test_insert_keeps_location_labels_and_iam_configuration(client, bucket):
    read = client.get_bucket("twin-checks")
    assert (read.location, read.location_type, read.labels) == ("US-CENTRAL1", "region", {"team": "ml"})
    assert read.iam_configuration.public_access_prevention == "enforced"
    with pytest.raises(exceptions.BadRequest, match="Invalid bucket name"):
        client.create_bucket("UPPER_case")
    with pytest.raises(exceptions.BadRequest, match="location constraint is not valid"):
        client.create_bucket("on-mars", location="mars-west1")
    assert client.create_bucket("in-eu", location="EU").location == "EU"


def test_generation_preconditions_on_write_and_delete(bucket):
    blob = bucket.blob("a.txt")
    blob.upload_from_string(b"one", if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed, match="pre-conditions you specified did not hold"):
        bucket.blob("a.txt").upload_from_string(b"two", if_generation_match=0)
    bucket.blob("a.txt").upload_from_string(b"two", if_generation_match=blob.generation)
    current = bucket.get_blob("a.txt")
    assert current.download_as_bytes() == b"two"
    with pytest.raises(exceptions.PreconditionFailed):
        current.delete(if_generation_match=blob.generation)
    current.delete(if_generation_match=current.generation)


def test_resumable_upload_honours_the_precondition(bucket):
    big = bucket.blob("big.bin", chunk_size=256 * 1024)
    big.upload_from_string(b"x" * (600 * 1024), if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("big.bin", chunk_size=256 * 1024).upload_from_string(b"y" * (600 * 1024), if_generation_match=0)
    assert bucket.get_blob("big.bin").size == 600 * 1024


def test_missing_things_answer_google_json_404(lab, client):
    with pytest.raises(exceptions.NotFound):
        client.get_bucket("no-such-bucket")
    url = lab.client_env()["KSERVE_GKE_STORAGE_ENDPOINT"] + "storage/v1/b/no-such-bucket"
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == 404


def test_public_access_prevention_refuses_all_users(bucket):
    policy = bucket.get_iam_policy(requested_policy_version=3)
    policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"allUsers"}})
    with pytest.raises(exceptions.PreconditionFailed, match="public access prevention is enforced"):
        bucket.set_iam_policy(policy)


def test_uniform_access_refuses_object_acls(bucket):
    blob = bucket.blob("acl.txt")
    blob.upload_from_string(b"x", if_generation_match=0)
    with pytest.raises(exceptions.BadRequest, match="uniform bucket-level access is enabled"):
        blob.make_public()
