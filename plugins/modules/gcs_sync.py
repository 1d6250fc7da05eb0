#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gcs_sync
short_description: Upload a model directory to GCS, moving only files that changed
version_added: "0.2.0"
description:
  - Lists the objects under O(prefix), compares size and CRC32C with the local files, and uploads
    only the files that differ, in parallel.
  - Every write carries an C(ifGenerationMatch) precondition (0 for a new object, the listed
    generation for a replaced one), so a retry can never duplicate or clobber a write, and a
    concurrent writer is detected instead of overwritten.
  - Uploads use the google-cloud-storage library, resumable for files above O(resumable_threshold_mb),
    with the CRC32C checked by the library during the upload and compared again afterwards.
  - With O(model_format=tensorflow) a source that is not a SavedModel layout is refused before any request.
author:
  - kserve_gke contributors (@mlops)
extends_documentation_fragment:
  - mlops.kserve_gke.gcp
options:
  bucket:
    description: The bucket name.
    type: str
    required: true
  source:
    description: The local model directory.
    type: path
    required: true
  prefix:
    description: The object prefix (the "directory" in the bucket) the files go under.
    type: str
    default: ""
  model_format:
    description:
      - V(tensorflow) checks that the source is a SavedModel (C(saved_model.pb) at the top or in
        numbered version directories). V(any) skips the check.
    type: str
    choices: [tensorflow, any]
    default: tensorflow
  delete_extra:
    description: Delete objects under O(prefix) that have no local file.
    type: bool
    default: false
  workers:
    description: Parallel uploads.
    type: int
    default: 8
  resumable_threshold_mb:
    description: Files larger than this are uploaded as resumable uploads in chunks of this size.
    type: int
    default: 8
attributes:
  check_mode:
    description: Lists and compares; uploads and deletes nothing.
    support: full
  diff_mode:
    description: The files that would be uploaded (+) and deleted (-).
    support: full
requirements:
  - google-cloud-storage >= 2.14.0
  - google-crc32c >= 1.5.0
"""

EXAMPLES = r"""
- name: Model | Upload the changed model files
  mlops.kserve_gke.gcs_sync:
    project: my-ml-project
    bucket: my-ml-project-models
    source: files/dogs-vs-cats
    prefix: models/dogs-vs-cats
"""

RETURN = r"""
storage_uri:
  description: Where the model is, for the InferenceService's storageUri.
  returned: always
  type: str
  sample: gs://my-ml-project-models/models/dogs-vs-cats
uploaded:
  description: Relative paths uploaded (or that would be, in check mode).
  returned: always
  type: list
  elements: str
deleted:
  description: Relative paths deleted (or that would be).
  returned: always
  type: list
  elements: str
unchanged:
  description: How many files were already up to date.
  returned: always
  type: int
bytes_uploaded:
  description: Bytes sent (0 in check mode).
  returned: always
  type: int
seconds:
  description: Wall time of the transfers.
  returned: always
  type: float
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mlops.kserve_gke.plugins.module_utils import gcs
from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcp import (
    GcpError, credentials, endpoint, gcp_argument_spec, run_module)

try:
    from google.api_core import exceptions as api_exceptions
    from google.cloud import storage
    from requests.adapters import HTTPAdapter
    HAS_STORAGE = True
    STORAGE_ERROR = None
except ImportError as exc:  # reported by run_module through missing_required_lib
    HAS_STORAGE = False
    STORAGE_ERROR = exc


def argspec():
    spec = gcp_argument_spec()
    spec.update(
        bucket=dict(type="str", required=True),
        source=dict(type="path", required=True),
        prefix=dict(type="str", default=""),
        model_format=dict(type="str", choices=["tensorflow", "any"], default="tensorflow"),
        delete_extra=dict(type="bool", default=False),
        workers=dict(type="int", default=8),
        resumable_threshold_mb=dict(type="int", default=8),
    )
    return spec


def storage_client(params, environ):
    creds, project = credentials(params, environ)
    client = storage.Client(project=project or "-", credentials=creds, client_options={
        "api_endpoint": endpoint("storage", params.get("api_endpoints"), environ).rstrip("/")})
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(params["workers"], 10))
    client._http.mount("https://", adapter)  # pylint: disable=protected-access
    client._http.mount("http://", adapter)  # pylint: disable=protected-access
    return client


def remote_files(client, bucket, prefix):
    """{relative name: {"size", "crc32c", "generation"}} of the objects under prefix."""
    start = gcs.object_name(prefix, "")
    found = {}
    for blob in client.list_blobs(bucket, prefix=start or None):
        relative = blob.name[len(start):]
        if relative and not relative.endswith("/"):
            found[relative] = {"size": blob.size, "crc32c": blob.crc32c, "generation": blob.generation}
    return found


class Transfer:
    """Uploads and deletes with generation preconditions, counting bytes."""

    def __init__(self, client, params, local, remote):
        self.bucket = client.bucket(params["bucket"])
        self.params, self.local, self.remote = params, local, remote
        self.threshold = params["resumable_threshold_mb"] * 1024 * 1024
        self.bytes = 0

    def upload(self, relative):
        path, info = self.local[relative]["path"], self.local[relative]
        name = gcs.object_name(self.params["prefix"], relative)
        chunk = self.threshold if info["size"] > self.threshold else None
        blob = self.bucket.blob(name, chunk_size=chunk)
        generation = (self.remote.get(relative) or {}).get("generation") or 0
        try:
            blob.upload_from_filename(path, if_generation_match=generation, checksum="crc32c")
        except api_exceptions.PreconditionFailed:
            # A retried upload whose first attempt landed (its answer was lost) fails its own precondition: the
            # object then holds our bytes. Only other bytes are another writer's.
            blob.reload()
            if not gcs.holds(blob, info):
                raise GcpError("gs://%s/%s changed while this run was syncing it (someone else wrote it: it holds "
                               "%s bytes with CRC32C %s, the local file %s bytes with %s). Fix: re-run once the "
                               "other writer is done." % (self.params["bucket"], name, blob.size, blob.crc32c,
                                                          info["size"], info["crc32c"]))
        except api_exceptions.GoogleAPIError as exc:
            raise GcpError("Uploading %s to gs://%s/%s failed: %s" % (path, self.params["bucket"], name, exc))
        if blob.crc32c != info["crc32c"]:
            raise GcpError("gs://%s/%s has CRC32C %s after the upload, the local file %s. Fix: re-run; if it "
                           "repeats, check the file is not being written to."
                           % (self.params["bucket"], name, blob.crc32c, info["crc32c"]))
        self.bytes += info["size"]

    def delete(self, relative):
        name = gcs.object_name(self.params["prefix"], relative)
        try:
            self.bucket.blob(name).delete(if_generation_match=self.remote[relative]["generation"])
        except api_exceptions.NotFound:
            pass
        except api_exceptions.PreconditionFailed:
            raise GcpError("gs://%s/%s changed while this run was deleting it. Fix: re-run."
                           % (self.params["bucket"], name))


def run(params, check_mode, environ):
    if params["model_format"] == "tensorflow":
        problem = gcs.savedmodel_problem(params["source"])
        if problem:
            raise GcpError(problem)
    elif not os.path.isdir(params["source"]):
        raise GcpError("%s is not a directory. Fix: set source to the model directory." % params["source"])
    if params["workers"] < 1:
        raise GcpError("workers must be 1 or more.")
    problem = gcs.prefix_problem(params["prefix"])
    if problem:
        raise GcpError(problem + ".")
    local = {rel: {"path": path, "size": os.path.getsize(path), "crc32c": gcs.crc32c_of(path)}
             for rel, path in gcs.local_files(params["source"]).items()}
    client = storage_client(params, environ)
    try:
        remote = remote_files(client, params["bucket"], params["prefix"])
    except api_exceptions.NotFound:
        if not check_mode:
            raise GcpError("Bucket %s does not exist. Fix: create it first (mlops.kserve_gke.gcs_bucket)."
                           % params["bucket"])
        remote = {}
    except api_exceptions.GoogleAPIError as exc:
        raise GcpError("Listing gs://%s failed: %s" % (params["bucket"], exc))
    uploads, deletes, unchanged = gcs.sync_plan(local, remote, params["delete_extra"])
    uri = "gs://%s" % params["bucket"] + ("/" + params["prefix"].strip("/") if params["prefix"].strip("/") else "")
    lines = ["+ %s (%s)" % (r, gcs.human_size(local[r]["size"])) for r in uploads] + ["- %s" % r for r in deletes]
    result = dict(changed=bool(uploads or deletes), storage_uri=uri, uploaded=uploads, deleted=deletes,
                  unchanged=len(unchanged), bytes_uploaded=0, seconds=0.0,
                  diff=dict(prepared="%s\n%s\n" % (uri, "\n".join(lines)) if lines else ""))
    if check_mode or not result["changed"]:
        return result
    transfer = Transfer(client, params, local, remote)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=params["workers"]) as pool:
        for _done in pool.map(transfer.upload, uploads):
            pass
        for _done in pool.map(transfer.delete, deletes):
            pass
    result.update(bytes_uploaded=transfer.bytes, seconds=round(time.monotonic() - started, 3))
    return result


def main():
    run_module(argspec(), run, libraries={"google-cloud-storage": (HAS_STORAGE, STORAGE_ERROR),
                                          "google-crc32c": (gcs.HAS_CRC32C, None)})


if __name__ == "__main__":
    main()
