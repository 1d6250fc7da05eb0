# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: inference_service_progress
short_description: Which InferenceServices are Ready, still coming, or failed for good
version_added: "0.4.0"
description:
  - Takes the C(resources) of one C(kubernetes.core.k8s_info) list of InferenceServices and the ones waited
    for, and splits them by KServe's status.
  - Ready means the C(Ready) condition is C(True) for the current generation and C(status.url) is set.
  - Failed means C(modelStatus.transitionStatus) is C(InvalidSpec) (at once), or C(BlockedByFailedLoad)
    after more than O(blocked_polls) polls, since a fresh IAM grant takes a while to be honoured.
author:
  - kserve_gke contributors (@mlops)
positional: wanted, attempt, blocked_polls
options:
  _input:
    description: The InferenceServices, as C(k8s_info) returns them.
    type: list
    elements: dict
    required: true
  wanted:
    description: The InferenceServices to look at, each a dict with at least C(namespace) and C(name).
    type: list
    elements: dict
    required: true
  attempt:
    description: The poll number (the registered result's C(attempts) in an C(until) loop).
    type: int
    default: 0
  blocked_polls:
    description: How many polls a failed model load is waited out before it counts as failed.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Wait for the InferenceServices
  kubernetes.core.k8s_info:
    api_version: serving.kserve.io/v1beta1
    kind: InferenceService
  register: found
  until: >-
    (found.resources | mlops.kserve_gke.inference_service_progress(wanted, found.attempts | default(0), 12)).waiting
    | length == 0
  retries: 120
  delay: 5
"""

RETURN = r"""
_value:
  description: C(ready), C(waiting) and C(failed), each a list of C(namespace/name), and C(endpoints), the
    C({name, namespace, url, host}) of the ready ones.
  type: dict
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.inference_service import progress


class FilterModule:
    def filters(self):
        return {"inference_service_progress": progress}
