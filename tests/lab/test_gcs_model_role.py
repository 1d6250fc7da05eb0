# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gcs_model role against the lab's GCS: only changed files move, a second
run and check mode send no write, faults are ridden out, bad input and public
read under public access prevention are refused before any request."""
from __future__ import annotations

import contextlib
import os

import pytest

from conftest import Lab, recap

BUCKET = "kserve-lab-models"
PREFIX = "models/dogs-vs-cats/"


def savedmodel_layout(root, seed=0):
    """A directory with the file layout of an exported SavedModel (contents are random bytes:
    the sync compares bytes, it never loads the model)."""
    rng = __import__("random").Random(seed)
    files = {"1/saved_model.pb": 300_000, "1/fingerprint.pb": 60, "1/variables/variables.index": 900,
             "1/variables/variables.data-00000-of-00001": 9_500_000}
    for name, size in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(rng.randbytes(size))
    return str(root)


def sync(lab, source, *args):
    return lab.play("gcs_model", "-e", "gcs_model_source=%s" % source, *args)


def test_source_that_is_not_a_savedmodel_is_refused_before_any_request(lab, tmp_path):
    (tmp_path / "model.h5").write_bytes(b"keras")
    before = len(lab.requests())
    proc = sync(lab, tmp_path)
    assert proc.returncode != 0
    assert "is not a TensorFlow SavedModel" in proc.stdout and "Fix:" in proc.stdout
    assert lab.writes(before, "gcs") == []


def test_public_read_under_prevention_is_refused_before_any_request(lab, tmp_path):
    before = len(lab.requests())
    proc = sync(lab, savedmodel_layout(tmp_path), "-e", "gcs_model_public_read=true")
    assert proc.returncode != 0 and "gcs_model_public_read: is true while gcs_model_public_access_prevention " \
        "is enforced" in proc.stdout
    assert lab.requests()[before:] == []


def test_a_bucket_location_gcs_does_not_have_is_refused_with_the_variable(lab, tmp_path):
    """Issue 16, item 3: the lab took any bucket location; GCS refuses one it does not have."""
    before = len(lab.requests())
    proc = sync(lab, savedmodel_layout(tmp_path), "-e", "gcs_model_location=mars-west1",
                "-e", "gcs_model_bucket=kserve-lab-mars")
    assert proc.returncode != 0
    text = " ".join(proc.stdout.split())
    assert "The specified location constraint is not valid. Fix: set location to a GCS location" in text, text[-2000:]
    assert "In this collection: location is gcs_model_location." in text
    assert [r for r in lab.writes(before, "gcs") if r["status"] < 400] == []


def test_check_mode_then_sync_then_nothing_moves(lab, tmp_path):
    source = savedmodel_layout(tmp_path)
    before = len(lab.requests())
    proc = sync(lab, source, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout
    assert "+ 1/variables/variables.data-00000-of-00001 (9.1 MiB)" in proc.stdout
    assert lab.writes(before) == []

    proc = sync(lab, source)
    assert proc.returncode == 0, proc.stdout
    client = lab.gcs_client()
    bucket = client.get_bucket(BUCKET)
    assert bucket.iam_configuration.uniform_bucket_level_access_enabled
    assert bucket.iam_configuration.public_access_prevention == "enforced"
    assert bucket.location == "US-CENTRAL1"
    policy = bucket.get_iam_policy(requested_policy_version=3)
    assert "serviceAccount:kserve-predictor@kserve-lab.iam.gserviceaccount.com" in \
        policy["roles/storage.objectViewer"]
    names = sorted(b.name[len(PREFIX):] for b in client.list_blobs(BUCKET, prefix=PREFIX))
    assert names == ["1/fingerprint.pb", "1/saved_model.pb", "1/variables/variables.data-00000-of-00001",
                     "1/variables/variables.index"]
    data = client.bucket(BUCKET).blob(PREFIX + "1/saved_model.pb").download_as_bytes()
    with open(os.path.join(source, "1", "saved_model.pb"), "rb") as handle:
        assert data == handle.read()

    before = len(lab.requests())
    again = sync(lab, source)
    assert again.returncode == 0 and recap(again)["changed"] == "0"
    assert "0 file(s) uploaded" in again.stdout and lab.writes(before) == []

    with open(os.path.join(source, "1", "fingerprint.pb"), "wb") as handle:
        handle.write(b"new fingerprint")
    os.remove(os.path.join(source, "1", "variables", "variables.index"))
    before = len(lab.requests())
    proc = sync(lab, source, "-e", "gcs_model_delete_extra=true")
    assert proc.returncode == 0, proc.stdout
    written = lab.writes(before, "gcs")
    assert len(written) == 2, written  # one upload, one delete
    assert "1 file(s) uploaded (15 bytes" in proc.stdout and "1 deleted" in proc.stdout


@contextlib.contextmanager
def lab_with_faults(directory, fault, seed):
    """A lab of its own whose GCS twin injects `fault` (scripts/lab knobs --fault), reproducibly."""
    instance = Lab(directory)
    instance.run("knobs", "--fault", fault, "--seed", str(seed))
    instance.run("up", "--idle-timeout", "300")
    try:
        yield instance
    finally:
        instance.run("down")


@pytest.fixture
def faulty(tmp_path):
    with lab_with_faults(tmp_path / "lab", "gcs=0.25:503,429,reset", 5) as instance:
        yield instance


def test_transient_gcs_faults_are_ridden_out(faulty, tmp_path):
    source = savedmodel_layout(tmp_path / "model", seed=3)
    proc = sync(faulty, source, "-e", "gcs_model_workers=4")
    assert proc.returncode == 0, proc.stdout
    assert [r for r in faulty.requests() if r.get("fault")], "no fault was injected; the test proves nothing"
    again = sync(faulty, source)
    assert again.returncode == 0 and recap(again)["changed"] == "0"


@pytest.fixture
def lossy(tmp_path):
    with lab_with_faults(tmp_path / "lab", "gcs=0.3:lost", 11) as instance:
        yield instance


def test_an_upload_whose_answer_was_lost_is_not_taken_for_another_writer(lossy, tmp_path):
    """GCS carried out the upload and the answer never came: the client's retry fails its own ifGenerationMatch
    with 412. The object holds our bytes, so that is success; before, it failed naming a writer that did not
    exist (issue 16, item 6)."""
    source = savedmodel_layout(tmp_path / "model", seed=4)
    proc = sync(lossy, source, "-e", "gcs_model_workers=4")
    assert proc.returncode == 0, proc.stdout[-3000:]
    lost = [r for r in lossy.requests() if r.get("fault") == "lost"]
    assert any(r["method"] == "POST" for r in lost), "no upload lost its answer; the test proves nothing"
    assert [r for r in lossy.requests() if r["status"] == 412], "no retry met its own precondition"
    again = sync(lossy, source)
    assert again.returncode == 0 and recap(again)["changed"] == "0"
