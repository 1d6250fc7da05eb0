# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: split_manifest
short_description: Split rendered Kubernetes YAML into CRDs, Namespaces and the rest
version_added: "0.4.0"
description:
  - Takes multi-document YAML, such as the C(stdout) of C(kubernetes.core.helm_template), and returns it
    in the shape M(mlops.kserve_gke.release_manifest) returns a release file, so both feed the same apply
    and wait tasks.
  - Empty documents are dropped; a document without C(kind) or C(apiVersion) is an error.
author:
  - kserve_gke contributors (@mlops)
positional: where
options:
  _input:
    description: The YAML text.
    type: str
    required: true
  where:
    description: What the text is, for error messages.
    type: str
    default: the rendered manifest
"""

EXAMPLES = r"""
- name: Split Istio's rendered charts
  ansible.builtin.set_fact:
    istio_parts: "{{ rendered.stdout | mlops.kserve_gke.split_manifest('Istio charts') }}"
"""

RETURN = r"""
_value:
  description: C(crds), C(namespaces) and C(resources) (everything else, in order), plus a C(summary) by kind.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mlops.kserve_gke.plugins.module_utils import manifests


def split_manifest(text, where="the rendered manifest"):
    try:
        return manifests.parts(text, where)
    except manifests.ManifestError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"split_manifest": split_manifest}
