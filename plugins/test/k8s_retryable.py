# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_retryable
short_description: Whether a Kubernetes task failed in a way a retry may cure
version_added: "0.4.0"
description:
  - True when a registered result of a C(kubernetes.core) module failed with the API server's 429 (priority and
    fairness) or a 5xx, or with a connection dropped, refused or timed out, as during a zonal cluster's control
    plane upgrade. False for a success and for any other failure (a 403, a 404, a bad request), which a retry
    would only repeat.
  - A module that crashed on the client's exception, without a message, is retryable too, since ansible-core 2.19
    fills in the message only after the retry loop and the error cannot be read where C(until) looks. A lasting
    one fails after the retries, with its message.
  - The roles retry their reads and idempotent writes with C(until) on it, so that a transient error is ridden
    out and a lasting one still fails at once.
author:
  - kserve_gke contributors (@mlops)
options:
  _input:
    description: A registered task result.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: KServe | Look for the CRD, riding out a busy API server
  kubernetes.core.k8s_info:
    api_version: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    name: inferenceservices.serving.kserve.io
  register: found
  until: found is not mlops.kserve_gke.k8s_retryable
  retries: 6
  delay: 5
"""

RETURN = r"""
_value:
  description: Whether a retry may cure the failure.
  type: bool
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.cluster import retryable_failure


class TestModule:
    def tests(self):
        return {"k8s_retryable": retryable_failure}
