# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: inference_service_addresses
short_description: The address each InferenceService answers on without DNS
version_added: "0.4.0"
description:
  - Takes the C(endpoints) that C(inference_service_progress) returns and gives each an C(ingress_address).
  - An InferenceService routed by Knative and Istio answers on the ingress gateway Service's load balancer; one
    in KServe's Standard mode (C(status.deploymentMode)) on the load balancer of its own Ingress, which KServe
    names after it. An address not assigned yet is empty.
author:
  - kserve_gke contributors (@mlops)
positional: gateway, ingresses
options:
  _input:
    description: The endpoints, as C(inference_service_progress) returns them.
    type: list
    elements: dict
    required: true
  gateway:
    description: The ingress gateway Service, or an empty dict when there is none (Standard mode only); or its
      address, when that is known already (as the istio role publishes it in C(istio_ingress_addresses)).
    type: raw
    required: true
  ingresses:
    description: The cluster's Ingresses.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Publish the endpoints with their addresses
  ansible.builtin.set_fact:
    endpoints: "{{ progress.endpoints | mlops.kserve_gke.inference_service_addresses(gateway, ingresses.resources) }}"
"""

RETURN = r"""
_value:
  description: The endpoints, each with C(ingress_address).
  type: list
  elements: dict
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.inference_service import with_addresses


class FilterModule:
    def filters(self):
        return {"inference_service_addresses": with_addresses}
