#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gke_kubeconfig
short_description: Write a kubeconfig context for a GKE cluster, without needing gcloud
version_added: "0.2.0"
description:
  - Reads the cluster's endpoint and CA certificate from the GKE API and merges a cluster, user and
    context entry into a kubeconfig file; other entries in the file are kept.
  - With O(auth=token) the user entry points at a token file (C(tokenFile)) that holds a short-lived
    OAuth access token from google-auth; kubectl and the Kubernetes Python client both read it.
    The token is refreshed when the file is older than O(token_max_age) minutes, and never logged.
  - With O(auth=exec) the user entry runs C(gke-gcloud-auth-plugin), for users who have it.
  - The context is named as gcloud names it, C(gke_PROJECT_LOCATION_NAME).
author:
  - kserve_gke contributors (@mlops)
extends_documentation_fragment:
  - mlops.kserve_gke.gcp
options:
  name:
    description: The cluster name.
    type: str
    required: true
  location:
    description: The cluster's zone or region.
    type: str
    required: true
  path:
    description: The kubeconfig file. Created with mode 0600 when missing.
    type: path
    required: true
  auth:
    description: How kubectl authenticates.
    type: str
    choices: [token, exec]
    default: token
  token_file:
    description: Where the access token goes with O(auth=token). Defaults to C(PATH.d/CONTEXT.token).
    type: path
  token_max_age:
    description: Minutes after which the token file is refreshed. Google access tokens live 60 minutes.
    type: int
    default: 45
  set_current_context:
    description: Make this context the current one. A file without a current context always gets it.
    type: bool
    default: true
  state:
    description: V(absent) removes the context's entries and its token file.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Reads the cluster and the file; writes nothing.
    support: full
  diff_mode:
    description: Shows the kubeconfig before and after, CA data shortened.
    support: full
"""

EXAMPLES = r"""
- name: GKE | Write the kubeconfig context
  mlops.kserve_gke.gke_kubeconfig:
    project: my-ml-project
    location: us-central1-a
    name: kserve-gpu
    path: ~/.kube/kserve-gke.yaml
"""

RETURN = r"""
context:
  description: The context name.
  returned: always
  type: str
  sample: gke_my-ml-project_us-central1-a_kserve-gpu
server:
  description: The Kubernetes API URL.
  returned: state=present
  type: str
  sample: https://34.1.2.3
token_refreshed:
  description: Whether the token file was (or, in check mode, would be) rewritten.
  returned: always
  type: bool
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.kserve_gke.plugins.module_utils import kubeconfig
from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcp import (
    GcpError, GcpSession, access_token, gcp_argument_spec)
from ansible_collections.mlops.kserve_gke.plugins.module_utils.gke import cluster_path

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False


def argspec():
    spec = gcp_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        location=dict(type="str", required=True),
        path=dict(type="path", required=True),
        auth=dict(type="str", choices=["token", "exec"], default="token"),
        token_file=dict(type="path"),
        token_max_age=dict(type="int", default=45, no_log=False),
        set_current_context=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    return spec


def _read(path):
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise GcpError("%s is not a kubeconfig (not a YAML mapping). Fix: point path at another file." % path)
    return data


def _write(module, path, data, mode=0o600):
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w", encoding="utf-8") as handle:
        handle.write(data)
    module.atomic_move(tmp, path)
    os.chmod(path, mode)


def _token_stale(path, max_age_minutes, token=None):
    if not os.path.exists(path):
        return True
    if token is not None:  # a fixed token: rewrite only when it differs
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() != token
    return time.time() - os.path.getmtime(path) > max_age_minutes * 60


def run(module, params, check_mode):
    session = GcpSession(params, "container", os.environ)
    project = session.project
    context = kubeconfig.context_name(project, params["location"], params["name"])
    token_file = params["token_file"] or os.path.join(params["path"] + ".d", context + ".token")
    before = _read(params["path"])
    result = dict(changed=False, context=context, token_refreshed=False)
    if params["state"] == "absent":
        after = kubeconfig.remove(before, context)
        remove_token = os.path.exists(token_file)
    else:
        cluster = session.call("GET", cluster_path(project, params["location"], params["name"]),
                               what="Reading cluster %s" % params["name"])
        if not cluster.get("endpoint") or cluster.get("status") not in ("RUNNING", "RECONCILING"):
            raise GcpError("Cluster %s has no reachable endpoint yet (status %s). Fix: run the gke_cluster role "
                           "first." % (params["name"], cluster.get("status")))
        entries = kubeconfig.entries(context, cluster["endpoint"], cluster["masterAuth"]["clusterCaCertificate"],
                                     params["auth"], token_file)
        after = kubeconfig.merge(before, *entries, set_current=params["set_current_context"])
        result["server"] = entries[0]["cluster"]["server"]
        remove_token = False
        fixed = params["access_token"] if params["auth_kind"] == "accesstoken" else None
        if params["auth"] == "token" and _token_stale(token_file, params["token_max_age"], fixed):
            result.update(token_refreshed=True, changed=True)
            if not check_mode:
                _write(module, token_file, access_token(session))
    if after != before:
        result["changed"] = True
        result["diff"] = dict(before=kubeconfig.redacted(before), after=kubeconfig.redacted(after),
                              before_header=params["path"], after_header=params["path"])
        if not check_mode:
            _write(module, params["path"], yaml.safe_dump(after, default_flow_style=False, sort_keys=False))
    if remove_token:
        result["changed"] = True
        if not check_mode:
            os.remove(token_file)
    return result


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if not HAS_YAML:
        module.fail_json(msg="PyYAML is required: pip install PyYAML")
    try:
        result = run(module, module.params, module.check_mode)
    except GcpError as exc:
        module.fail_json(msg=exc.message)
    except OSError as exc:
        module.fail_json(msg="Could not write the kubeconfig: %s. Fix: check the path and its permissions." % exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
