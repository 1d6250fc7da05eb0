# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: deployment_mode
short_description: KServe's deployment mode under its current name (Knative or Standard)
version_added: "0.4.0"
description:
  - KServe 0.16 renamed its deployment modes (C(Serverless) is now C(Knative), C(RawDeployment) is now
    C(Standard)) and still accepts the old names. This filter maps either name to the current one, so that a
    template or a condition compares with one word, and the names are written in one place.
  - An empty value is returned as given (it means KServe's own default, or the kserve role's).
author:
  - kserve_gke contributors (@mlops)
options:
  _input:
    description: A deployment mode, old or current name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Wait for the InferenceService's own Ingress (Standard mode only)
  ansible.builtin.debug:
    msg: Standard mode
  when: kserve_deployment_mode | mlops.kserve_gke.deployment_mode == 'Standard'
"""

RETURN = r"""
_value:
  description: V(Knative), V(Standard), the empty string, or an unknown value as given (the validation play
    refuses those).
  type: str
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.inputs import current_deployment_mode


class FilterModule:
    def filters(self):
        return {"deployment_mode": current_deployment_mode}
