# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: not_ready
short_description: The named objects that are missing or whose condition is not True
version_added: "0.3.0"
description:
  - Takes the C(resources) of a C(kubernetes.core.k8s_info) list and returns, of the names asked for, those
    with no object in the list or whose C(status.conditions) lack the condition with status C(True).
  - One list call then waits for many objects, where one C(wait) per object costs a module run each.
author:
  - kserve_gke contributors (@mlops)
positional: names, condition
options:
  _input:
    description: The objects, as C(k8s_info) returns them.
    type: list
    elements: dict
    required: true
  names:
    description: The names of the objects to look at.
    type: list
    elements: str
    required: true
  condition:
    description: The condition type, for example C(Established) or C(Available).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Wait for the CRDs to be Established
  kubernetes.core.k8s_info:
    api_version: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
  register: crds
  until: crds.resources | mlops.kserve_gke.not_ready(['issuers.cert-manager.io'], 'Established') | length == 0
  retries: 60
  delay: 5
"""

RETURN = r"""
_value:
  description: The names that are not ready yet, in the order given.
  type: list
  elements: str
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.k8s_objects import not_ready


class FilterModule:
    def filters(self):
        return {"not_ready": not_ready}
