#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gcp_service_account
short_description: A Google service account, and who may act as it (Workload Identity)
version_added: "0.2.0"
description:
  - Creates the service account when it is missing, and adds IAM bindings on it (for example
    C(roles/iam.workloadIdentityUser) for a Kubernetes ServiceAccount) without touching others.
  - The policy is written with its etag, so a concurrent change is detected, not overwritten.
author:
  - kserve_gke contributors (@mlops)
extends_documentation_fragment:
  - mlops.kserve_gke.gcp
options:
  name:
    description: The account ID, the part of the email before C(@).
    type: str
    required: true
  display_name:
    description: Display name, used when creating.
    type: str
    default: ""
  description:
    description: Description, used when creating.
    type: str
    default: ""
  grants:
    description:
      - IAM bindings on the service account to make sure of, as pairs C([role, member]), for example
        C([roles/iam.workloadIdentityUser, "serviceAccount:PROJECT.svc.id.goog[kserve/predictor]"]).
    type: list
    elements: list
    default: []
  state:
    description: V(absent) deletes the service account.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Reads only; returns what would change. When the IAM API is not enabled in the project yet (the
      real run enables it first), it says so and reports the account as to be created.
    support: full
  diff_mode:
    description: The account and the added bindings, before and after.
    support: full
"""

EXAMPLES = r"""
- name: Model | Make sure of the predictor's Google service account
  mlops.kserve_gke.gcp_service_account:
    project: my-ml-project
    name: kserve-predictor
    display_name: KServe predictor
"""

RETURN = r"""
email:
  description: The service account's email.
  returned: always
  type: str
  sample: kserve-predictor@my-ml-project.iam.gserviceaccount.com
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
  sample: ["create service account kserve-predictor@my-ml-project.iam.gserviceaccount.com"]
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcp import (
    GcpError, GcpSession, Plan, gcp_argument_spec, grant_pairs, iam_plan, run_module)


def argspec():
    spec = gcp_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        display_name=dict(type="str", default=""),
        description=dict(type="str", default=""),
        grants=dict(type="list", elements="list", default=[]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    return spec


def run(params, check_mode, environ):
    bad, grants = grant_pairs(params["grants"])
    if bad:
        raise GcpError("Invalid options, nothing was changed:\n- " + "\n- ".join(bad))
    session = GcpSession(params, "iam", environ)
    if not session.project:
        raise GcpError("project is not set. Fix: set project (or GCP_PROJECT).", field="project")
    email = "%s@%s.iam.gserviceaccount.com" % (params["name"], session.project)
    path = "v1/projects/%s/serviceAccounts/%s" % (session.project, email)
    result = dict(changed=False, email=email, granted=[])
    try:
        current = session.call("GET", path, missing_ok=True, what="Reading service account %s" % email)
    except GcpError as exc:
        if not (check_mode and exc.reason == "SERVICE_DISABLED"):
            raise
        # Check mode on a half-built project: the real run enables the IAM API before it gets here (the
        # gke_cluster and gcs_model roles do), so report what it would then do rather than fail.
        would = params["state"] == "present"
        result.update(changed=would, granted=[list(g) for g in grants] if would else [],
                      actions=["create service account %s" % email] if would else [],
                      msg="check mode: the IAM API is not enabled in project %s yet, so %s cannot be read; the "
                          "real run enables the API first%s" % (session.project, email,
                                                                ", then creates the account and grants what it "
                                                                "lacks" if would else ""))
        return result
    if params["state"] == "absent":
        plan = Plan(check_mode, {"email": email} if current else {})
        if current:
            plan.add("delete service account %s" % email, lambda: session.call(
                "DELETE", path, what="Deleting service account %s" % email))
            plan.after = {}
        plan.apply()
        return plan.result(email=email, granted=[])
    before = {"email": email, "display_name": current.get("displayName", "")} if current else {}
    plan = Plan(check_mode, dict(before, grants=[]))
    if current is None:
        body = {"accountId": params["name"],
                "serviceAccount": {"displayName": params["display_name"], "description": params["description"]}}
        plan.add("create service account %s" % email, lambda: session.call(
            "POST", "v1/projects/%s/serviceAccounts" % session.project, body=body,
            what="Creating service account %s" % email))
    current = plan.apply() or current
    policy = session.call("POST", path + ":getIamPolicy", what="Reading the IAM policy of %s" % email) \
        if current is not None and grants else None
    new_policy, missing = iam_plan(policy, grants)
    granted = [list(m) for m in missing]
    if missing:
        pairs = ", ".join("%s to %s" % m for m in missing)
        plan.add("grant %s on %s" % (pairs, email), lambda: session.call(
            "POST", path + ":setIamPolicy", body={"policy": new_policy}, what="Granting %s on %s" % (pairs, email)))
    plan.apply()
    display_name = (current or {}).get("displayName", params["display_name"])
    plan.after = {"email": email, "display_name": display_name, "grants": granted}
    return plan.result(email=email, granted=granted)


def main():
    run_module(argspec(), run)


if __name__ == "__main__":
    main()
