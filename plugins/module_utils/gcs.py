# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GCS buckets and model directories as plain data: the bucket to ask for,
what differs, which files to move. No calls here; the modules do the I/O."""

from __future__ import annotations

import base64
import os
import re

try:
    import google_crc32c
    HAS_CRC32C = True
except ImportError:
    HAS_CRC32C = False

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
OBJECT_VIEWER = "roles/storage.objectViewer"
CHUNK = 1024 * 1024
VERSION_DIR = re.compile(r"^[0-9]+$")


def bucket_body(params):
    """The bucket resource the options ask for (only the fields this collection manages)."""
    body = {
        "name": params["name"],
        "location": params["location"].upper(),
        "storageClass": params["storage_class"],
        "labels": dict(params.get("labels") or {}),
        "versioning": {"enabled": bool(params.get("versioning"))},
        "iamConfiguration": {
            "uniformBucketLevelAccess": {"enabled": bool(params.get("uniform_access", True))},
            "publicAccessPrevention": params["public_access_prevention"],
        },
    }
    return body


def _managed(bucket):
    """The managed fields of a bucket as GCS returns it, defaults filled in."""
    iam = bucket.get("iamConfiguration") or {}
    return {
        "location": (bucket.get("location") or "").upper(),
        "storageClass": bucket.get("storageClass") or "STANDARD",
        "labels": bucket.get("labels") or {},
        "versioning": {"enabled": bool((bucket.get("versioning") or {}).get("enabled"))},
        "iamConfiguration": {
            "uniformBucketLevelAccess": {"enabled": bool((iam.get("uniformBucketLevelAccess") or {}).get("enabled"))},
            "publicAccessPrevention": iam.get("publicAccessPrevention") or "inherited",
        },
    }


def bucket_plan(desired, actual):
    """(patch, drift): the fields to PATCH, and fields GCS cannot change, each with the fix."""
    have = _managed(actual)
    patch, drift = {}, []
    if have["location"] != desired["location"]:
        drift.append("bucket %s is in %s, wanted %s. A bucket's location cannot change. Fix: set gcs_model_location "
                     "to %s, or use another bucket name." % (desired["name"], have["location"], desired["location"],
                                                             have["location"]))
    for key in ("storageClass", "labels", "versioning", "iamConfiguration"):
        if have[key] != desired[key]:
            patch[key] = desired[key]
    return patch, drift


def bucket_summary(bucket):
    return _managed(bucket) if bucket else {}


def check_bucket_options(params):
    """Problems with the bucket options, each naming the option and the fix (before any call)."""
    errors = []
    members = [m for _r, m in params.get("grants") or []]
    if params["public_access_prevention"] == "enforced" and any(m in PUBLIC_MEMBERS for m in members):
        errors.append("public read (allUsers) was asked for, but public_access_prevention is enforced and GCS "
                      "refuses it. Fix: keep the bucket private (the predictor reads it through Workload Identity), "
                      "or set gcs_model_public_access_prevention: inherited to opt in to public read.")
    for member in members:
        if member not in PUBLIC_MEMBERS and not re.match(r"^(serviceAccount|user|group|domain|principal):.+", member):
            errors.append("IAM member %r has no type. Fix: write it as serviceAccount:EMAIL, user:EMAIL, "
                          "group:EMAIL or domain:NAME." % member)
    return errors


def crc32c_of(path):
    """Base64 big-endian CRC32C of a file, the form GCS reports in an object's crc32c."""
    checksum = google_crc32c.Checksum()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            checksum.update(block)
    return base64.b64encode(checksum.digest()).decode()


def local_files(source):
    """{relative/posix/path: absolute path} of every regular file under source."""
    found = {}
    for root, dirs, files in os.walk(source):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.isfile(path):
                found[os.path.relpath(path, source).replace(os.sep, "/")] = path
    return found


def _is_savedmodel(path):
    return any(os.path.isfile(os.path.join(path, n)) for n in ("saved_model.pb", "saved_model.pbtxt"))


def savedmodel_problem(source):
    """None when source is a TensorFlow SavedModel layout TF Serving loads, else what is wrong and the fix.

    TF Serving wants numbered version directories (source/1/saved_model.pb); a bare
    SavedModel (source/saved_model.pb) is accepted too, as KServe's storage initializer
    hands it over as version 1.
    """
    if not os.path.isdir(source):
        return "%s is not a directory. Fix: set gcs_model_source to the model directory." % source
    if _is_savedmodel(source):
        return None
    versions = [d for d in sorted(os.listdir(source)) if VERSION_DIR.match(d) and os.path.isdir(os.path.join(source, d))]
    if versions and all(_is_savedmodel(os.path.join(source, v)) for v in versions):
        return None
    if versions:
        bad = [v for v in versions if not _is_savedmodel(os.path.join(source, v))]
        return ("%s: version directories %s hold no saved_model.pb. Fix: export the model with "
                "tf.saved_model.save into each version directory." % (source, ", ".join(bad)))
    return ("%s is not a TensorFlow SavedModel: there is no saved_model.pb in it or in a numbered version "
            "directory (1/saved_model.pb). Fix: point gcs_model_source at the export directory, or set "
            "gcs_model_format to another format." % source)


def sync_plan(local, remote, delete_extra):
    """Which files to upload and which objects to delete.

    local: {name: {"size": int, "crc32c": str}}; remote: {name: {"size", "crc32c", "generation"}}.
    Returns (uploads, deletes, unchanged): uploads and deletes are sorted names.
    """
    uploads, unchanged = [], []
    for name, info in sorted(local.items()):
        have = remote.get(name)
        if have and int(have.get("size") or 0) == info["size"] and have.get("crc32c") == info["crc32c"]:
            unchanged.append(name)
        else:
            uploads.append(name)
    deletes = sorted(set(remote) - set(local)) if delete_extra else []
    return uploads, deletes, unchanged


def holds(blob, local):
    """Whether an object (size, crc32c as GCS reports them) holds a local file's bytes ({"size", "crc32c"})."""
    return blob is not None and getattr(blob, "size", None) == local["size"] \
        and getattr(blob, "crc32c", None) == local["crc32c"]


def prefix_problem(prefix, name="prefix"):
    """Why an object prefix is refused (None when fine): GCS takes '..' and '.' as plain characters, so the
    objects would land under a literal '../..', which no storage_uri a user means points at."""
    segments = str(prefix or "").strip("/").split("/")
    if any(s in (".", "..") for s in segments):
        return ("%s %r has a '.' or '..' segment; GCS would store the objects under those literal names. Fix: a "
                "plain path such as models/dogs-vs-cats" % (name, prefix))
    if "//" in str(prefix or "").strip("/"):
        return "%s %r has an empty segment ('//'). Fix: a plain path such as models/dogs-vs-cats" % (name, prefix)
    return None


def object_name(prefix, relative):
    prefix = (prefix or "").strip("/")
    return "%s/%s" % (prefix, relative) if prefix else relative


def human_size(size):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return ("%d %s" % (size, unit)) if unit == "B" else ("%.1f %s" % (size, unit))
        size /= 1024.0
    return str(size)
