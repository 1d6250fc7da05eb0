#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release_manifest
short_description: Fetch an upstream release manifest, check its sha256, and split it for applying
version_added: "0.2.0"
description:
  - Reads a release file by its path under C(https://github.com/) from GitHub, from a mirror that keeps
    the same layout (O(base_url)), or from a local directory with that layout (O(local_dir), for
    air-gapped sites).
  - When O(sha256) is given the bytes must match it, or the module fails before anything is applied.
    The file's sha256 is always returned, so it can be pinned.
  - Returns the documents split as they must be applied - CustomResourceDefinitions, Namespaces, then the
    rest - for C(kubernetes.core.k8s) with server-side apply.
  - Changes nothing, so it runs the same in check mode.
author:
  - kserve_gke contributors (@mlops)
options:
  path:
    description: The file's path under C(https://github.com/), for example
      C(cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml).
    type: str
    required: true
  sha256:
    description: The sha256 the file must have.
    type: str
extends_documentation_fragment:
  - mlops.kserve_gke.release_source
attributes:
  check_mode:
    description: Reads only.
    support: full
  diff_mode:
    description: Nothing changes.
    support: none
"""

EXAMPLES = r"""
- name: cert-manager | Fetch the release manifest
  mlops.kserve_gke.release_manifest:
    path: cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml
  register: cert_manager_manifest
"""

RETURN = r"""
source:
  description: Where the file was read from.
  returned: always
  type: str
  sample: https://github.com/cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml
sha256:
  description: The file's sha256.
  returned: always
  type: str
crds:
  description: The CustomResourceDefinitions.
  returned: always
  type: list
  elements: dict
namespaces:
  description: The Namespaces.
  returned: always
  type: list
  elements: dict
resources:
  description: Everything else, in file order.
  returned: always
  type: list
  elements: dict
summary:
  description: What the file holds, by kind.
  returned: always
  type: str
  sample: 6 CustomResourceDefinition, 3 Deployment, 1 Namespace
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.mlops.kserve_gke.plugins.module_utils import manifests


def argspec():
    return dict(
        path=dict(type="str", required=True),
        base_url=dict(type="str", default="https://github.com"),
        local_dir=dict(type="path"),
        sha256=dict(type="str"),
        timeout=dict(type="int", default=60),
    )


def run(params):
    data, where = manifests.read_source(params["path"], params["base_url"], params["local_dir"], params["timeout"])
    digest = manifests.check_sha256(data, params["sha256"], where)
    return dict(manifests.parts(data.decode("utf-8"), where), changed=False, source=where, sha256=digest)


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if not manifests.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    try:
        result = run(module.params)
    except manifests.ManifestError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
