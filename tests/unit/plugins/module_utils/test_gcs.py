# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import base64
import zlib

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils import gcp, gcs, inputs

PARAMS = {"name": "models", "location": "us-central1", "storage_class": "STANDARD", "labels": {"a": "b"},
          "versioning": False, "uniform_access": True, "public_access_prevention": "enforced", "grants": []}
SA = "serviceAccount:kserve-predictor@p.iam.gserviceaccount.com"


def as_gcs_returns(body, **changes):
    bucket = dict(body, id=body["name"], metageneration="1", locationType="region", etag="CAE=")
    bucket.update(changes)
    return bucket


def test_bucket_body_is_private_by_default():
    body = gcs.bucket_body(PARAMS)
    assert body["location"] == "US-CENTRAL1"
    assert body["iamConfiguration"] == {"uniformBucketLevelAccess": {"enabled": True},
                                        "publicAccessPrevention": "enforced"}


def test_bucket_plan_is_empty_when_gcs_matches():
    body = gcs.bucket_body(PARAMS)
    assert gcs.bucket_plan(body, as_gcs_returns(body)) == ({}, [])


@pytest.mark.parametrize("changes, patched", [
    ({"labels": {}}, ["labels"]),
    ({"versioning": {"enabled": True}}, ["versioning"]),
    ({"iamConfiguration": {"uniformBucketLevelAccess": {"enabled": False}}}, ["iamConfiguration"]),
    ({"storageClass": "NEARLINE"}, ["storageClass"]),
])
def test_bucket_plan_patches_only_what_differs(changes, patched):
    body = gcs.bucket_body(PARAMS)
    patch, drift = gcs.bucket_plan(body, as_gcs_returns(body, **changes))
    assert sorted(patch) == patched and drift == []


def test_bucket_location_drift_names_the_fix():
    body = gcs.bucket_body(PARAMS)
    drift = gcs.bucket_plan(body, as_gcs_returns(body, location="EU"))[1]
    assert "cannot change" in drift[0] and "gcs_model_location" in drift[0]


def test_iam_plan_adds_only_the_missing_member_and_keeps_others():
    policy = {"etag": "CAE=", "bindings": [{"role": gcs.OBJECT_VIEWER, "members": ["user:a@example.com"]},
                                           {"role": "roles/storage.admin", "members": ["group:ops@example.com"]}]}
    new, missing = gcp.iam_plan(policy, [(gcs.OBJECT_VIEWER, SA)])
    assert missing == [(gcs.OBJECT_VIEWER, SA)]
    assert new["bindings"][0]["members"] == ["user:a@example.com", SA]
    assert new["bindings"][1] == policy["bindings"][1] and new["etag"] == "CAE="
    assert policy["bindings"][0]["members"] == ["user:a@example.com"]
    assert gcp.iam_plan(new, [(gcs.OBJECT_VIEWER, SA)]) == (None, [])


@pytest.mark.parametrize("changes, words", [
    ({"grants": [(gcs.OBJECT_VIEWER, "allUsers")]}, "public_access_prevention is enforced"),
    ({"grants": [(gcs.OBJECT_VIEWER, "kserve@p.iam.gserviceaccount.com")]}, "has no type"),
])
def test_check_bucket_options_names_the_fix(changes, words):
    errors = gcs.check_bucket_options(dict(PARAMS, **changes))
    assert len(errors) == 1 and words in errors[0] and "Fix:" in errors[0]


def test_public_read_is_allowed_once_prevention_is_inherited():
    params = dict(PARAMS, public_access_prevention="inherited", grants=[(gcs.OBJECT_VIEWER, "allUsers")])
    assert gcs.check_bucket_options(params) == []


def test_crc32c_matches_the_gcs_form(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    # Known value: CRC32C("hello") = 0x9a71bb4c, base64 of the big-endian bytes.
    assert gcs.crc32c_of(str(path)) == base64.b64encode(bytes.fromhex("9a71bb4c")).decode()
    assert gcs.crc32c_of(str(path)) != base64.b64encode(zlib.crc32(b"hello").to_bytes(4, "big")).decode()


def _layout(root, files):
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return str(root)


@pytest.mark.parametrize("files, problem", [
    (["saved_model.pb", "variables/variables.index"], None),
    (["1/saved_model.pb", "2/saved_model.pbtxt"], None),
    (["1/saved_model.pb", "2/variables/variables.index"], "version directories 2 hold no saved_model.pb"),
    (["model.h5"], "is not a TensorFlow SavedModel"),
])
def test_savedmodel_problem(tmp_path, files, problem):
    found = gcs.savedmodel_problem(_layout(tmp_path, files))
    assert found is None if problem is None else problem in found


def test_savedmodel_problem_for_a_missing_directory(tmp_path):
    assert "is not a directory" in gcs.savedmodel_problem(str(tmp_path / "nope"))


def test_local_files_are_relative_posix_paths(tmp_path):
    root = _layout(tmp_path, ["1/saved_model.pb", "1/variables/variables.index"])
    assert sorted(gcs.local_files(root)) == ["1/saved_model.pb", "1/variables/variables.index"]


def test_sync_plan_moves_only_what_differs():
    local = {"a": {"size": 1, "crc32c": "A"}, "b": {"size": 2, "crc32c": "B"}, "c": {"size": 3, "crc32c": "C"}}
    remote = {"a": {"size": 1, "crc32c": "A", "generation": 1}, "b": {"size": 2, "crc32c": "X", "generation": 2},
              "old": {"size": 9, "crc32c": "O", "generation": 3}}
    assert gcs.sync_plan(local, remote, delete_extra=False) == (["b", "c"], [], ["a"])
    assert gcs.sync_plan(local, remote, delete_extra=True) == (["b", "c"], ["old"], ["a"])
    same_crc_other_size = {"a": {"size": 5, "crc32c": "A", "generation": 1}}
    assert gcs.sync_plan({"a": local["a"]}, same_crc_other_size, False)[0] == ["a"]


@pytest.mark.parametrize("prefix, relative, name", [
    ("models/m", "1/x", "models/m/1/x"), ("/models/m/", "x", "models/m/x"), ("", "x", "x"),
])
def test_object_name(prefix, relative, name):
    assert gcs.object_name(prefix, relative) == name


def test_human_size():
    assert [gcs.human_size(n) for n in (12, 2048, 9_500_000)] == ["12 B", "2.0 KiB", "9.1 MiB"]


def test_validation_refuses_a_model_source_that_is_not_a_savedmodel(tmp_path):
    source = _layout(tmp_path, ["model.h5"])
    errors = inputs.check_model_source({"gcs_model_source": source})
    assert len(errors) == 1 and errors[0].startswith("gcs_model_source: ")
    assert inputs.check_model_source({"gcs_model_source": source, "gcs_model_format": "any"}) == []
    assert inputs.check_model_source({}) == []


@pytest.mark.parametrize("config, refused", [
    ({"gcs_model_public_read": True}, True),
    ({"gcs_model_public_read": "true", "gcs_model_public_access_prevention": "enforced"}, True),
    ({"gcs_model_public_read": True, "gcs_model_public_access_prevention": "inherited"}, False),
    ({"gcs_model_public_read": False}, False),
])
def test_validation_refuses_public_read_under_prevention(config, refused):
    errors = inputs.check_public_read(config)
    assert bool(errors) == refused
    assert not errors or ("Fix:" in errors[0] and errors[0].startswith("gcs_model_public_read"))


class _Blob:
    def __init__(self, size, crc32c):
        self.size, self.crc32c = size, crc32c


@pytest.mark.parametrize("blob, holds", [
    (_Blob(15, "abc=="), True),          # our earlier attempt landed
    (_Blob(15, "xyz=="), False),         # someone else's bytes
    (_Blob(16, "abc=="), False),
    (None, False),
])
def test_holds_tells_our_bytes_from_another_writers(blob, holds):
    assert gcs.holds(blob, {"size": 15, "crc32c": "abc=="}) is holds


@pytest.mark.parametrize("prefix, problem", [
    ("models/dogs-vs-cats", None), ("", None), ("/models/x/", None),
    ("../../etc", "has a '.' or '..' segment"), ("models/./x", "has a '.' or '..' segment"),
    ("models//x", "has an empty segment"),
])
def test_prefix_problem(prefix, problem):
    found = gcs.prefix_problem(prefix, "gcs_model_prefix")
    assert (found is None) if problem is None else (problem in found and found.startswith("gcs_model_prefix"))
