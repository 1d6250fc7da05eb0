# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_failure
short_description: What a failed Kubernetes task was told, and the fix when one is known
version_added: "0.4.0"
description:
  - The API server's own message from a failed C(kubernetes.core) task's result (kubernetes.core passes on the
    client's exception, with response headers and a traceback), followed by the fix the collection knows for it,
    for example the IAM role or RBAC binding a refused account lacks.
author:
  - kserve_gke contributors (@mlops)
options:
  _input:
    description: A registered task result, or C(ansible_failed_result) in a C(rescue).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: GKE | Verify that the Kubernetes API answers
  block:
    - name: GKE | Read kube-system through the new context
      kubernetes.core.k8s_info:
        kind: Namespace
        name: kube-system
  rescue:
    - name: GKE | Stop with what the Kubernetes API answered, and the fix
      ansible.builtin.fail:
        msg: "{{ ansible_failed_result | mlops.kserve_gke.k8s_failure }}"
"""

RETURN = r"""
_value:
  description: The message, then C(Fix:) and the fix when one is known.
  type: str
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.diagnosis import failed_request


class FilterModule:
    def filters(self):
        return {"k8s_failure": failed_request}
