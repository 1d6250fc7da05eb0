# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: inference_service_errors
short_description: What is wrong with a list of InferenceService settings, each with its fix
version_added: "0.4.0"
description:
  - Checks the items of C(inference_service_models) (after defaults are merged) for what KServe would refuse
    or what could never become Ready, before anything is applied.
  - Names, storage URIs, the TensorFlow GPU image rule, replica bounds and the canary percentage.
author:
  - kserve_gke contributors (@mlops)
options:
  _input:
    description: The InferenceService settings, as the inference_service role takes them.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Stop on bad InferenceService settings
  ansible.builtin.fail:
    msg: "{{ problems | join(' ') }}"
  vars:
    problems: "{{ [{'name': 'Dogs', 'storage_uri': 'gs://b/m'}] | mlops.kserve_gke.inference_service_errors }}"
  when: problems | length > 0
"""

RETURN = r"""
_value:
  description: One message per problem, naming the item, the field and the fix; empty when all is well.
  type: list
  elements: str
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.inference_service import service_errors


class FilterModule:
    def filters(self):
        return {"inference_service_errors": service_errors}
