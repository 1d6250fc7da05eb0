# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: merge_json_config
short_description: Set fields of the JSON documents a manifest's ConfigMap keeps under its keys
version_added: "0.3.0"
description:
  - KServe keeps its settings as JSON documents under the keys of one ConfigMap (C(inferenceservice-config)).
    Server-side apply owns each key as a whole string, so changing one field while keeping upstream's others
    means changing the manifest before it is applied; this filter does that.
  - Returns the objects with that ConfigMap's keys rewritten; fails when the ConfigMap or a key is missing or a
    value is not JSON.
author:
  - kserve_gke contributors (@mlops)
positional: namespace, name, overrides
options:
  _input:
    description: The manifest's objects.
    type: list
    elements: dict
    required: true
  namespace:
    description: The ConfigMap's namespace.
    type: str
    required: true
  name:
    description: The ConfigMap's name.
    type: str
    required: true
  overrides:
    description: Per key, the fields to set in its JSON document; a field set to V(null) is removed from it.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Set KServe's default deployment mode in the manifest
  ansible.builtin.set_fact:
    resources: >-
      {{ manifest.resources | mlops.kserve_gke.merge_json_config('kserve', 'inferenceservice-config',
         {'deploy': {'defaultDeploymentMode': 'Standard'}}) }}
"""

RETURN = r"""
_value:
  description: The objects, with the ConfigMap's keys updated.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.mlops.kserve_gke.plugins.module_utils.k8s_objects import merge_json_config


def merge_json_config_filter(objects, namespace, name, overrides):
    try:
        return merge_json_config(objects, namespace, name, overrides)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"merge_json_config": merge_json_config_filter}
