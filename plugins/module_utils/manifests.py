# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release manifests as plain data: where a file comes from, whether its bytes
are the ones pinned, and its documents in the order they must be applied."""

from __future__ import annotations

import hashlib
import re

from ansible.module_utils.urls import open_url

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# Cluster-scoped kinds that others depend on come first, as kubectl would need them.
FIRST = ("Namespace", "CustomResourceDefinition")
# Kubernetes' own cluster-scoped kinds, by (API group, kind).
CLUSTER_SCOPED = {
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"), ("apiregistration.k8s.io", "APIService"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "CSIDriver"), ("storage.k8s.io", "VolumeAttachment"),
    ("scheduling.k8s.io", "PriorityClass"), ("networking.k8s.io", "IngressClass"), ("node.k8s.io", "RuntimeClass"),
    ("certificates.k8s.io", "CertificateSigningRequest")}


class ManifestError(Exception):
    pass


def source_of(relative, base_url, local_dir):
    """('file', path) or ('url', url) for a release file's path relative to github.com."""
    relative = relative.lstrip("/")
    if local_dir:
        return "file", "%s/%s" % (local_dir.rstrip("/"), relative)
    return "url", "%s/%s" % ((base_url or "https://github.com").rstrip("/"), relative)


def read_source(relative, base_url, local_dir, timeout):
    """(bytes, where) of a release file by its path relative to github.com: from local_dir, or downloaded."""
    kind, where = source_of(relative, base_url, local_dir)
    if kind == "file":
        try:
            with open(where, "rb") as handle:
                return handle.read(), where
        except OSError as exc:
            raise ManifestError("Cannot read %s: %s. Fix: mirror the release file into "
                                "kserve_gke_release_dir with GitHub's layout." % (where, exc))
    try:
        return open_url(where, timeout=timeout, follow_redirects="all").read(), where
    except Exception as exc:  # pylint: disable=broad-except  # urllib, ssl and socket errors alike
        raise ManifestError("Cannot download %s: %s. Fix: check the version exists upstream and the network "
                            "path, or set kserve_gke_release_base to a mirror." % (where, exc))


def check_sha256(data, expected, where):
    """The file's sha256; raises when a pinned one differs."""
    actual = hashlib.sha256(data).hexdigest()
    if expected:
        expected = expected.lower().replace("sha256:", "")
        if not SHA256_RE.match(expected):
            raise ManifestError("The pinned checksum for %s is not a sha256 (64 hex digits): %r. Fix: correct it "
                                "in kserve_gke_checksums." % (where, expected))
        if actual != expected:
            raise ManifestError("%s has sha256 %s, but %s is pinned. The file changed upstream or on the mirror, "
                                "or the download was altered. Fix: check the source; update the pin with "
                                "scripts/release-checksums only if the new file is trusted."
                                % (where, actual, expected))
    return actual


def split(text, where):
    """(crds, namespaces, others): the documents of a multi-document YAML, empty ones dropped."""
    try:
        # libyaml's loader when PyYAML has it: KServe's kserve.yaml is about 7 MB.
        docs = [d for d in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d]
    except yaml.YAMLError as exc:
        raise ManifestError("%s is not valid YAML: %s" % (where, exc))
    bad = [d for d in docs if not isinstance(d, dict) or not d.get("kind") or not d.get("apiVersion")]
    if bad:
        raise ManifestError("%s holds %d document(s) without kind or apiVersion; it is not a Kubernetes "
                            "manifest. Fix: check the URL or the mirror." % (where, len(bad)))
    crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    scoped = CLUSTER_SCOPED | {(c.get("spec", {}).get("group"), c.get("spec", {}).get("names", {}).get("kind"))
                               for c in crds if c.get("spec", {}).get("scope") == "Cluster"}
    docs = [without_namespace(d) if (d["apiVersion"].rpartition("/")[0], d["kind"]) in scoped else d for d in docs]
    crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    namespaces = [d for d in docs if d["kind"] == "Namespace"]
    others = [d for d in docs if d["kind"] not in FIRST]
    return crds, namespaces, others


def without_namespace(doc):
    """A cluster-scoped object without the metadata.namespace the API server ignores: kustomize gives one to
    every object of an overlay that sets a namespace (KServe's ClusterStorageContainer `default` has
    namespace kserve), and an apply compares the object it sends with the one the server returns, so the
    field would make every run look like a change."""
    if "namespace" not in (doc.get("metadata") or {}):
        return doc
    meta = {k: v for k, v in doc["metadata"].items() if k != "namespace"}
    return dict(doc, metadata=meta)


def summary(docs):
    """'3 Deployment, 1 Service, ...' for the log."""
    counts = {}
    for doc in docs:
        counts[doc["kind"]] = counts.get(doc["kind"], 0) + 1
    return ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items()))


def parts(text, where):
    """The documents of rendered YAML (for example `helm template`'s output) as release_manifest returns them."""
    crds, namespaces, others = split(text, where)
    return dict(crds=crds, namespaces=namespaces, resources=others, summary=summary(crds + namespaces + others))
