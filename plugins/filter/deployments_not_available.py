# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: deployments_not_available
short_description: The Deployments waited for that are missing or not Available
version_added: "0.4.0"
description:
  - Takes the Deployments of a C(kubernetes.core.k8s_info) list (of any namespaces) and returns the entries of
    O(wanted) with no Deployment in the list, or whose C(Available) condition is not C(True).
  - One list call then waits for Deployments of several namespaces.
author:
  - kserve_gke contributors (@mlops)
positional: wanted
options:
  _input:
    description: The Deployments, as C(k8s_info) returns them.
    type: list
    elements: dict
    required: true
  wanted:
    description: The Deployments to look at, each a dict with C(namespace) and C(name).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Wait for the Deployments to be Available
  kubernetes.core.k8s_info:
    kind: Deployment
  register: deployments
  until: deployments.resources | mlops.kserve_gke.deployments_not_available(wanted) | length == 0
  retries: 60
  delay: 5
"""

RETURN = r"""
_value:
  description: The entries of O(wanted) that are not Available yet, in the order given.
  type: list
  elements: dict
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.scheduling import deployments_not_available


class FilterModule:
    def filters(self):
        return {"deployments_not_available": deployments_not_available}
