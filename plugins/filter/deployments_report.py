# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: deployments_report
short_description: Why Deployments are not Available, naming Pods that wait for CPU or memory
version_added: "0.4.0"
description:
  - Takes the Deployments read, the C(namespace)/C(name) entries waited for, and the cluster's Pods and Nodes;
    returns a message that lists each Deployment that is not Available with its ready count, then, for each
    Pod left Pending because no node has the CPU or memory it asks for, what it asks for, the scheduler's
    words, what each node it may run on has free, and the fix given.
  - The decision is data (conditions, requests, allocatable, taints), not the wording of a task.
author:
  - kserve_gke contributors (@mlops)
positional: wanted, pods, nodes, what, seconds, fix
options:
  _input:
    description: The Deployments, as C(kubernetes.core.k8s_info) returns them.
    type: list
    elements: dict
    required: true
  wanted:
    description: The Deployments waited for, each a dict with C(namespace) and C(name).
    type: list
    elements: dict
    required: true
  pods:
    description: The cluster's Pods (all namespaces, so that what a node has free can be computed).
    type: list
    elements: dict
    required: true
  nodes:
    description: The cluster's Nodes.
    type: list
    elements: dict
    required: true
  what:
    description: What the Deployments are, for the message.
    type: str
    required: true
  seconds:
    description: How long they were waited for.
    type: int
    required: true
  fix:
    description: What to do when Pods wait for CPU or memory.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Stop with why the Deployments are not Available
  ansible.builtin.fail:
    msg: >-
      {{ deployments.resources | mlops.kserve_gke.deployments_report(wanted, pods.resources, nodes.resources,
         'Istio', 600, 'add nodes to the system pool') }}
"""

RETURN = r"""
_value:
  description: The message.
  type: str
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.scheduling import deployments_report


class FilterModule:
    def filters(self):
        return {"deployments_report": deployments_report}
