# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import hashlib

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils import manifests

PATH = "cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml"
TEXT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
---
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
"""


@pytest.mark.parametrize("base, local, expected", [
    (None, None, ("url", "https://github.com/" + PATH)),
    ("http://127.0.0.1:8/", None, ("url", "http://127.0.0.1:8/" + PATH)),
    ("http://127.0.0.1:8", "/srv/mirror/", ("file", "/srv/mirror/" + PATH)),
])
def test_source_prefers_the_local_directory_then_the_base_url(base, local, expected):
    assert manifests.source_of("/" + PATH, base, local) == expected


def test_sha256_is_returned_and_a_pinned_one_must_match():
    data = b"kind: Namespace\n"
    digest = hashlib.sha256(data).hexdigest()
    assert manifests.check_sha256(data, None, "f") == digest
    assert manifests.check_sha256(data, "sha256:" + digest.upper(), "f") == digest
    with pytest.raises(manifests.ManifestError, match="but 0{64} is pinned"):
        manifests.check_sha256(data, "0" * 64, "f")
    with pytest.raises(manifests.ManifestError, match="is not a sha256"):
        manifests.check_sha256(data, "abc", "f")


def test_split_drops_the_namespace_the_server_ignores_on_cluster_scoped_objects():
    """KServe 0.20's kserve.yaml: kustomize puts namespace kserve on the cluster-scoped ClusterStorageContainer
    (its CRD, in the same file, says scope Cluster) and on nothing else that is cluster-scoped."""
    text = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: clusterstoragecontainers.serving.kserve.io}
spec: {group: serving.kserve.io, scope: Cluster, names: {kind: ClusterStorageContainer}}
---
apiVersion: serving.kserve.io/v1alpha1
kind: ClusterStorageContainer
metadata: {name: default, namespace: kserve}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kserve-manager-role, namespace: kserve}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: inferenceservice-config, namespace: kserve}
"""
    _crds, _namespaces, others = manifests.split(text, "f")
    assert [d["metadata"] for d in others] == [{"name": "default"}, {"name": "kserve-manager-role"},
                                               {"name": "inferenceservice-config", "namespace": "kserve"}]


def test_split_orders_crds_namespaces_then_the_rest():
    crds, namespaces, others = manifests.split(TEXT, "f")
    assert [d["metadata"]["name"] for d in crds] == ["widgets.example.com"]
    assert [d["metadata"]["name"] for d in namespaces] == ["demo"]
    assert [d["kind"] for d in others] == ["Deployment"]
    assert manifests.summary(crds + namespaces + others) == "1 CustomResourceDefinition, 1 Deployment, 1 Namespace"


@pytest.mark.parametrize("text, words", [
    ("<html>Not Found</html>", "not a Kubernetes manifest"),
    ("a: [b", "is not valid YAML"),
])
def test_split_refuses_what_is_not_a_manifest(text, words):
    with pytest.raises(manifests.ManifestError, match=words):
        manifests.split(text, "f")


def test_parts_are_shaped_like_release_manifest_results():
    parts = manifests.parts("---\n# Source: base/templates/crds.yaml\n" + TEXT + "\n---\n", "the charts")
    assert [d["metadata"]["name"] for d in parts["crds"]] == ["widgets.example.com"]
    assert [d["kind"] for d in parts["resources"]] == ["Deployment"]
    assert parts["summary"] == "1 CustomResourceDefinition, 1 Deployment, 1 Namespace"
    with pytest.raises(manifests.ManifestError, match="the charts holds 1 document"):
        manifests.parts("just: text", "the charts")
