# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in kinds the Kubernetes API twin serves, for discovery and routing."""

from __future__ import annotations

# (group, version, plural, kind, namespaced, short names, has status subresource)
BUILTINS = [
    ("", "v1", "namespaces", "Namespace", False, ["ns"], True),
    ("", "v1", "nodes", "Node", False, ["no"], True),
    ("", "v1", "pods", "Pod", True, ["po"], True),
    ("", "v1", "services", "Service", True, ["svc"], True),
    ("", "v1", "endpoints", "Endpoints", True, ["ep"], False),
    ("", "v1", "configmaps", "ConfigMap", True, ["cm"], False),
    ("", "v1", "secrets", "Secret", True, [], False),
    ("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"], False),
    ("", "v1", "events", "Event", True, ["ev"], False),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], True),
    ("apps", "v1", "deployments", "Deployment", True, ["deploy"], True),
    ("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], True),
    ("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"], True),
    ("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"], True),
    ("batch", "v1", "jobs", "Job", True, [], True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, [], False),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, [], False),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True, [], False),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, [], False),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False, ["crd", "crds"],
     True),
    ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration",
     False, [], False),
    ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration",
     False, [], False),
    ("coordination.k8s.io", "v1", "leases", "Lease", True, [], False),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], True),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ["hpa"], True),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"], True),
]

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Resource:
    def __init__(self, group, version, plural, kind, namespaced, short_names=(), status=False, schema=None,
                 categories=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.status = status
        self.schema = schema
        self.categories = list(categories)

    @property
    def group_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def singular(self):
        return self.kind.lower()

    def discovery(self):
        entries = [{"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                    "kind": self.kind, "verbs": VERBS, "shortNames": self.short_names,
                    **({"categories": self.categories} if self.categories else {})}]
        if self.status:
            entries.append({"name": self.plural + "/status", "singularName": "", "namespaced": self.namespaced,
                            "kind": self.kind, "verbs": ["get", "patch", "update"]})
        if self.plural in ("deployments", "statefulsets"):
            entries.append({"name": self.plural + "/scale", "singularName": "", "namespaced": True,
                            "group": "autoscaling", "version": "v1", "kind": "Scale",
                            "verbs": ["get", "patch", "update"]})
        if self.plural == "pods":
            entries.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                            "verbs": ["get"]})
        return entries


def builtin_resources():
    return [Resource(*row) for row in BUILTINS]
