# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: split_for_dry_run
short_description: Split manifests into what a server-side dry run can judge and what is new regardless
version_added: "0.3.0"
description:
  - The API server refuses a dry run of an object whose namespace does not exist yet, or whose kind no
    CustomResourceDefinition serves yet (in check mode, the CRDs of the same run were never created). Such
    objects are new, hence a change, without asking.
  - Returns a dict with C(checkable) and C(new), both lists in the original order.
author:
  - kserve_gke contributors (@mlops)
positional: namespaces, crds
options:
  _input:
    description: The objects to apply.
    type: list
    elements: dict
    required: true
  namespaces:
    description: The names of the namespaces that exist.
    type: list
    elements: str
    required: true
  crds:
    description: The cluster's CustomResourceDefinitions; omitted or null takes every kind as served.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Split what a dry run can judge
  ansible.builtin.set_fact:
    parts: "{{ objects | mlops.kserve_gke.split_for_dry_run(namespace_names, crd_list.resources) }}"
"""

RETURN = r"""
_value:
  description: C(checkable) and C(new) objects.
  type: dict
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.k8s_objects import split_for_dry_run


class FilterModule:
    def filters(self):
        return {"split_for_dry_run": split_for_dry_run}
