# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: inference_service_report
short_description: Why an InferenceService is not Ready, in one message with the fix
version_added: "0.4.0"
description:
  - Puts together the conditions that are not C(True), C(modelStatus.lastFailureInfo), the predictor Pods'
    states and warning events, and the last lines of the storage initializer's log.
  - Ends with the fix when the failure is a known one (no runtime for the format, a bucket the predictor may
    not read, a Workload Identity binding missing, no model at the URI, no free GPU).
author:
  - kserve_gke contributors (@mlops)
positional: pods, events, logs
options:
  _input:
    description: The InferenceService object (empty when it does not exist).
    type: dict
    required: true
  pods:
    description: Its predictor Pods.
    type: list
    elements: dict
  events:
    description: Events of its namespace.
    type: list
    elements: dict
  logs:
    description: The storage initializer's log text per Pod name.
    type: dict
"""

EXAMPLES = r"""
- name: Stop with what KServe says
  ansible.builtin.fail:
    msg: "{{ isvc | mlops.kserve_gke.inference_service_report(pods, events, logs) }}"
"""

RETURN = r"""
_value:
  description: The message.
  type: str
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.inference_service import report


class FilterModule:
    def filters(self):
        return {"inference_service_report": report}
