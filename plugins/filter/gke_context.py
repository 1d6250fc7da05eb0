# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: gke_context
short_description: The kubeconfig context name gcloud (and module gke_kubeconfig) gives a GKE cluster
version_added: "0.4.0"
description:
  - C(gke_PROJECT_LOCATION_CLUSTER), the name C(gcloud container clusters get-credentials) gives the context, and
    the one M(mlops.kserve_gke.gke_kubeconfig) writes; the playbooks point their Kubernetes modules at it, so the
    convention is written once, next to the module that follows it.
author:
  - kserve_gke contributors (@mlops)
positional: location, cluster
options:
  _input:
    description: The project ID.
    type: str
    required: true
  location:
    description: The cluster's zone or region.
    type: str
    required: true
  cluster:
    description: The cluster's name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Read the nodes of the collection's cluster
  kubernetes.core.k8s_info:
    kind: Node
    context: "{{ kserve_gke_project | mlops.kserve_gke.gke_context(kserve_gke_location, kserve_gke_cluster_name) }}"
"""

RETURN = r"""
_value:
  description: The context name.
  type: str
"""

from ansible_collections.mlops.kserve_gke.plugins.module_utils.kubeconfig import context_name


class FilterModule:
    def filters(self):
        return {"gke_context": context_name}
