#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gcs_bucket
short_description: A private GCS bucket for models, and read access for the predictor
version_added: "0.2.0"
description:
  - Creates the bucket, or converges its storage class, labels, versioning, uniform bucket-level
    access and public access prevention with one PATCH when they differ.
  - Uniform bucket-level access and public access prevention are on by default. A bucket's location
    cannot change; a difference stops the module with the fix.
  - Adds IAM bindings (O(grants)) without touching members others granted. Public read is an
    explicit opt-in and is refused with the fix while public access prevention is enforced.
author:
  - kserve_gke contributors (@mlops)
extends_documentation_fragment:
  - mlops.kserve_gke.gcp
options:
  name:
    description: The bucket name.
    type: str
    required: true
  location:
    description: A region (C(us-central1)), dual-region or multi-region (C(US)). Used when creating.
    type: str
    default: US
  storage_class:
    description: Default storage class.
    type: str
    choices: [STANDARD, NEARLINE, COLDLINE, ARCHIVE]
    default: STANDARD
  labels:
    description: Bucket labels.
    type: dict
    default: {}
  versioning:
    description: Keep noncurrent object versions.
    type: bool
    default: false
  uniform_access:
    description: Uniform bucket-level access (IAM only, no object ACLs).
    type: bool
    default: true
  public_access_prevention:
    description: V(enforced) refuses any public grant; V(inherited) follows the organization policy.
    type: str
    choices: [enforced, inherited]
    default: enforced
  grants:
    description:
      - IAM bindings to make sure of, as pairs C([role, member]), for example
        C([roles/storage.objectViewer, serviceAccount:kserve-predictor@p.iam.gserviceaccount.com]).
    type: list
    elements: list
    default: []
  state:
    description: V(absent) deletes the bucket; with O(force) its objects first.
    type: str
    choices: [present, absent]
    default: present
  force:
    description: With O(state=absent), delete the objects in the bucket too.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads only; returns what would change.
    support: full
  diff_mode:
    description: The managed fields and the added IAM members, before and after.
    support: full
"""

EXAMPLES = r"""
- name: Model | Make sure of the bucket and the predictor's read access
  mlops.kserve_gke.gcs_bucket:
    project: my-ml-project
    name: my-ml-project-models
    location: us-central1
    grants:
      - [roles/storage.objectViewer, "serviceAccount:kserve-predictor@my-ml-project.iam.gserviceaccount.com"]
"""

RETURN = r"""
bucket:
  description: The managed fields of the bucket.
  returned: state=present
  type: dict
  sample: {"location": "US-CENTRAL1", "storageClass": "STANDARD", "versioning": {"enabled": false}}
granted:
  description: The (role, member) pairs this run added (or would add).
  returned: always
  type: list
  elements: list
actions:
  description: What this run did (or would do, in check mode), one line per write.
  returned: always
  type: list
  elements: str
  sample: ["create bucket my-models", "grant roles/storage.objectViewer to serviceAccount:p@x.iam.gserviceaccount.com on bucket my-models"]
"""

from urllib.parse import quote

from ansible_collections.mlops.kserve_gke.plugins.module_utils import gcs
from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcp import (
    GcpError, GcpSession, Plan, gcp_argument_spec, grant_pairs, iam_plan, run_module)


def argspec():
    spec = gcp_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        location=dict(type="str", default="US"),
        storage_class=dict(type="str", choices=["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"], default="STANDARD"),
        labels=dict(type="dict", default={}),
        versioning=dict(type="bool", default=False),
        uniform_access=dict(type="bool", default=True),
        public_access_prevention=dict(type="str", choices=["enforced", "inherited"], default="enforced"),
        grants=dict(type="list", elements="list", default=[]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        force=dict(type="bool", default=False),
    )
    return spec


def _delete(session, name, force):
    listing = session.call("GET", "storage/v1/b/%s/o" % name, params={"versions": "true", "maxResults": 1000},
                           what="Listing bucket %s" % name)
    items = listing.get("items") or []
    if items and not force:
        raise GcpError("Bucket %s is not empty (%d+ objects). Fix: set force: true to delete them with it."
                       % (name, len(items)))
    while items:
        for item in items:
            session.call("DELETE", "storage/v1/b/%s/o/%s" % (name, quote(item["name"], safe="")),
                         params={"generation": item["generation"]}, what="Deleting gs://%s/%s" % (name, item["name"]))
        items = session.call("GET", "storage/v1/b/%s/o" % name, params={"versions": "true"},
                             what="Listing bucket %s" % name).get("items") or []
    session.call("DELETE", "storage/v1/b/%s" % name, what="Deleting bucket %s" % name)


def _create(session, desired):
    """Create the bucket. A 409 whose bucket this session can read is this module's own create, made by an attempt
    whose answer was lost and then retried (GCS answers the retry "You already own this bucket"): the bucket
    is taken as created. A name another project holds stays a 409 (GCS does not let us read that bucket)."""
    try:
        return session.call("POST", "storage/v1/b", params={"project": session.project}, body=desired,
                            what="Creating bucket %s" % desired["name"])
    except GcpError as exc:
        if "location constraint" in exc.message.lower():
            exc.field = "location"
        if exc.status == 409:
            try:
                existing = session.call("GET", "storage/v1/b/%s" % desired["name"], missing_ok=True,
                                        what="Reading bucket %s" % desired["name"])
            except GcpError:
                existing = None
            if existing:
                return existing
            exc.field = exc.field or "name"
        raise


def run(params, check_mode, environ):
    bad, grants = grant_pairs(params["grants"])
    params = dict(params, grants=grants)
    errors = bad + gcs.check_bucket_options(params)
    if errors:
        raise GcpError("Invalid options, nothing was changed:\n- " + "\n- ".join(errors))
    session = GcpSession(params, "storage", environ)
    name = params["name"]
    path = "storage/v1/b/%s" % name
    current = session.call("GET", path, missing_ok=True, what="Reading bucket %s" % name)
    if params["state"] == "absent":
        plan = Plan(check_mode, gcs.bucket_summary(current))
        if current:
            plan.add("delete bucket %s" % name, lambda: _delete(session, name, params["force"]))
            plan.after = {}
        plan.apply()
        return plan.result(granted=[])
    desired = gcs.bucket_body(params)
    before = gcs.bucket_summary(current) if current else {}
    plan = Plan(check_mode, dict(before, grants=[]))
    if current is None:
        if not session.project:
            raise GcpError("project is not set. Fix: set project (or GCP_PROJECT).", field="project")
        plan.add("create bucket %s" % name, lambda: _create(session, desired))
    else:
        patch, drift = gcs.bucket_plan(desired, current)
        if drift:
            raise GcpError("\n".join(drift))
        if patch:
            plan.add("update bucket %s (%s)" % (name, ", ".join(sorted(patch))), lambda: session.call(
                "PATCH", path, body=patch, what="Updating bucket %s" % name))
    current = plan.apply() or current
    policy = None
    if current is not None and params["grants"]:
        policy = session.call("GET", path + "/iam", params={"optionsRequestedPolicyVersion": 3},
                              what="Reading the IAM policy of bucket %s" % name)
    new_policy, missing = iam_plan(policy, params["grants"])   # no bucket yet: no policy, every grant missing
    granted = [list(m) for m in missing]
    if missing:
        pairs = ", ".join("%s to %s" % m for m in missing)
        plan.add("grant %s on bucket %s" % (pairs, name), lambda: session.call(
            "PUT", path + "/iam", body=new_policy, what="Granting %s on bucket %s" % (pairs, name)))
    plan.apply()
    after = gcs.bucket_summary(dict(desired))
    plan.after = dict(after, grants=granted)
    return plan.result(granted=granted, bucket=after if not check_mode else (before or after))


def main():
    run_module(argspec(), run)


if __name__ == "__main__":
    main()
