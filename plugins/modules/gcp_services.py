#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gcp_services
short_description: Make sure Google Cloud APIs are enabled in a project
version_added: "0.2.0"
description:
  - Reads each service's state through the Service Usage API and enables only the disabled ones,
    in one batch call, then waits for the operation.
  - APIs are never disabled by this module, since disabling one can break what depends on it.
author:
  - kserve_gke contributors (@mlops)
extends_documentation_fragment:
  - mlops.kserve_gke.gcp
options:
  services:
    description: Service names, for example C(container.googleapis.com).
    type: list
    elements: str
    required: true
  wait_timeout:
    description: Seconds to wait for the enable operation.
    type: int
    default: 600
attributes:
  check_mode:
    description: Reads only; returns what would be enabled.
    support: full
  diff_mode:
    description: Shows the enabled services before and after.
    support: full
"""

EXAMPLES = r"""
- name: GKE | Enable the APIs the cluster needs
  mlops.kserve_gke.gcp_services:
    project: my-ml-project
    services: [container.googleapis.com, iam.googleapis.com]
"""

RETURN = r"""
enabled:
  description: The services this run enabled (or would enable, in check mode).
  returned: always
  type: list
  elements: str
  sample: [container.googleapis.com]
actions:
  description: What this run did (or would do, in check mode), one line per write.
  returned: always
  type: list
  elements: str
  sample: ["enable container.googleapis.com, iam.googleapis.com"]
"""

import time

from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcp import (
    GcpError, GcpSession, Plan, gcp_argument_spec, run_module)


def argspec():
    spec = gcp_argument_spec()
    spec.update(services=dict(type="list", elements="str", required=True),
                wait_timeout=dict(type="int", default=600))
    return spec


def run(params, check_mode, environ, sleep=time.sleep):
    session = GcpSession(params, "serviceusage", environ)
    if not session.project:
        raise GcpError("project is not set. Fix: set project (or GCP_PROJECT).", field="project")
    base = "v1/projects/%s/services" % session.project
    states = {name: session.call("GET", "%s/%s" % (base, name), what="Reading service %s" % name).get("state")
              for name in params["services"]}
    missing = sorted(name for name, state in states.items() if state != "ENABLED")
    plan = Plan(check_mode, {"enabled": sorted(n for n, s in states.items() if s == "ENABLED")})
    if missing:
        plan.add("enable %s" % ", ".join(missing), lambda: _enable(session, base, missing, params["wait_timeout"], sleep),
                 enabled=sorted(states))
    plan.apply()
    return plan.result(enabled=missing)


def _enable(session, base, missing, timeout, sleep):
    op = session.call("POST", base + ":batchEnable", body={"serviceIds": missing},
                      what="Enabling %s" % ", ".join(missing))
    deadline = time.monotonic() + timeout
    while not op.get("done"):
        if time.monotonic() > deadline:
            raise GcpError("Enabling %s did not finish in wait_timeout (%d s). Fix: re-run; enabling an API can take "
                           "minutes." % (", ".join(missing), timeout), field="wait_timeout")
        sleep(2)
        op = session.call("GET", "v1/" + op["name"], what="Reading operation %s" % op["name"])
    if op.get("error"):
        raise GcpError("Enabling %s failed: %s" % (", ".join(missing), op["error"].get("message")))
    return op


def main():
    run_module(argspec(), run)


if __name__ == "__main__":
    main()
