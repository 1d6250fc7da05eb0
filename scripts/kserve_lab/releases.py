# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-ins for the upstream release manifests, served by the lab's mirror.

Nothing here is copied from upstream: each file is written here with the
shape that matters to the roles (the same file names and URL layout as the
GitHub releases, the same kinds, names, namespaces, Services and webhook
configurations, CRDs with permissive schemas), so that applying one to a lab
cluster behaves like applying the real one: CRDs take time to be Established,
webhooks refuse requests until their Deployment is ready, and so on.

The files are written under .lab/mirror/ at `scripts/lab up`, laid out as
github.com lays out release assets, so a mirror base URL or a local directory
replaces https://github.com/ and nothing else.
"""

from __future__ import annotations

import os
from functools import partial
from http.server import SimpleHTTPRequestHandler
from urllib.parse import urlsplit

import yaml

from .core import LabServer, start_request


def _crd(group, kind, plural, scope="Namespaced", short=(), categories=(), version="v1"):
    open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "%s.%s" % (plural, group)},
        "spec": {
            "group": group, "scope": scope,
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower(),
                      **({"shortNames": list(short)} if short else {}),
                      **({"categories": list(categories)} if categories else {})},
            "versions": [{"name": version, "served": True, "storage": True, "subresources": {"status": {}},
                          "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                              "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                              "metadata": {"type": "object"}, "spec": open_object, "status": open_object}}}}],
        },
    }


def _labels(app, component, part_of):
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": part_of}


def _deployment(name, namespace, labels, image, port=None, secret_volume=None, args=()):
    container = {"name": name, "image": image, "args": list(args),
                 **({"ports": [{"containerPort": port, "name": "https"}]} if port else {})}
    spec = {"serviceAccountName": name, "containers": [container]}
    if secret_volume:
        container["volumeMounts"] = [{"name": "cert", "mountPath": "/tmp/certs", "readOnly": True}]
        spec["volumes"] = [{"name": "cert", "secret": {"secretName": secret_volume}}]
    meta = {"name": name, "namespace": namespace, "labels": labels}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def _service(name, namespace, selector, port, target):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"type": "ClusterIP", "selector": selector,
                     "ports": [{"name": "https", "port": port, "targetPort": target}]}}


def _service_account(name, namespace):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}


def _webhook(kind, name, hook, service, namespace, path, rules, namespace_selector=None, policy="Fail"):
    entry = {"name": hook, "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": policy,
             "timeoutSeconds": 30,
             "clientConfig": {"service": {"name": service, "namespace": namespace, "path": path, "port": 443}},
             "rules": rules}
    if namespace_selector:
        entry["namespaceSelector"] = namespace_selector
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": [entry]}


def cert_manager(version):
    """cert-manager's single-file install: CRDs, controller, cainjector, webhook."""
    ns = "cert-manager"
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]
    docs += [_crd("cert-manager.io", k, p, scope, short, ["cert-manager"]) for k, p, scope, short in (
        ("Certificate", "certificates", "Namespaced", ("cert", "certs")),
        ("CertificateRequest", "certificaterequests", "Namespaced", ("cr", "crs")),
        ("Issuer", "issuers", "Namespaced", ()),
        ("ClusterIssuer", "clusterissuers", "Cluster", ()))]
    docs += [_crd("acme.cert-manager.io", k, p, categories=["cert-manager", "cert-manager-acme"])
             for k, p in (("Order", "orders"), ("Challenge", "challenges"))]
    for name, component in (("cert-manager", "controller"), ("cert-manager-cainjector", "cainjector"),
                            ("cert-manager-webhook", "webhook")):
        docs.append(_service_account(name, ns))
        image = "quay.io/jetstack/cert-manager-%s:v%s" % (component, version)
        docs.append(_deployment(name, ns, _labels(name, component, "cert-manager"), image,
                                port=10250 if component == "webhook" else None))
    docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                 "metadata": {"name": "cert-manager-controller"},
                 "rules": [{"apiGroups": ["cert-manager.io", "acme.cert-manager.io", ""],
                            "resources": ["*"], "verbs": ["*"]}]})
    docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": {"name": "cert-manager-controller"},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                             "name": "cert-manager-controller"},
                 "subjects": [{"kind": "ServiceAccount", "name": "cert-manager", "namespace": ns}]})
    docs.append(_service("cert-manager-webhook", ns, _labels("cert-manager-webhook", "webhook", "cert-manager"),
                         443, 10250))
    rules = [{"apiGroups": ["cert-manager.io", "acme.cert-manager.io"], "apiVersions": ["v1"],
              "operations": ["CREATE", "UPDATE"], "resources": ["*/*"]}]
    skip_own = {"matchExpressions": [{"key": "cert-manager.io/disable-validation", "operator": "NotIn",
                                      "values": ["true"]}]}
    docs.append(_webhook("ValidatingWebhookConfiguration", "cert-manager-webhook", "webhook.cert-manager.io",
                         "cert-manager-webhook", ns, "/validate", rules, skip_own))
    docs.append(_webhook("MutatingWebhookConfiguration", "cert-manager-webhook", "webhook.cert-manager.io",
                         "cert-manager-webhook", ns, "/mutate",
                         [{"apiGroups": ["cert-manager.io"], "apiVersions": ["v1"], "operations": ["CREATE"],
                           "resources": ["certificaterequests"]}]))
    return {"cert-manager/cert-manager/releases/download/v%s/cert-manager.yaml" % version: docs}


def knative_serving(version):
    """Knative Serving's two release files: the CRDs, and the core (controllers, webhook, config)."""
    ns = "knative-serving"
    tag = "knative-v%s" % version
    crds = [_crd(group, kind, plural, categories=["all", "knative", "serving"] if group == "serving.knative.dev"
                 else ["knative-internal"], short=short)
            for group, kind, plural, short in (
                ("serving.knative.dev", "Service", "services", ("kservice", "ksvc")),
                ("serving.knative.dev", "Configuration", "configurations", ("config", "cfg")),
                ("serving.knative.dev", "Revision", "revisions", ("rev",)),
                ("serving.knative.dev", "Route", "routes", ("rt",)),
                ("caching.internal.knative.dev", "Image", "images", ("img",)),
                ("networking.internal.knative.dev", "Ingress", "ingresses", ("kingress", "king")),
                ("networking.internal.knative.dev", "ServerlessService", "serverlessservices", ("sks",)),
                ("networking.internal.knative.dev", "Certificate", "certificates", ("kcert",)),
                ("autoscaling.internal.knative.dev", "PodAutoscaler", "podautoscalers", ("kpa", "pa")),
                ("autoscaling.internal.knative.dev", "Metric", "metrics", ()))]
    crds.append(_crd("serving.knative.dev", "DomainMapping", "domainmappings", short=("dm",), version="v1beta1"))
    labels = {"app.kubernetes.io/name": "knative-serving", "app.kubernetes.io/version": version}
    core = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}]
    for name in ("activator", "autoscaler", "controller", "webhook"):
        core.append(_service_account(name, ns))
        app = dict(labels, app=name)
        image = "gcr.io/knative-releases/knative.dev/serving/cmd/%s:v%s" % (name, version)
        core.append(_deployment(name, ns, app, image, port=8443 if name == "webhook" else None))
    core.append(_service("webhook", ns, dict(labels, app="webhook"), 443, 8443))
    for name, data in (("config-domain", {"_example": "# the domain routes are published under"}),
                       ("config-features", {"_example": "# feature flags"}),
                       ("config-network", {"_example": "# networking layer"}),
                       ("config-deployment", {"_example": "# deployment defaults"})):
        core.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": name, "namespace": ns, "labels": labels}, "data": data})
    serving_rules = [{"apiGroups": ["serving.knative.dev", "autoscaling.internal.knative.dev",
                                    "networking.internal.knative.dev"], "apiVersions": ["*"],
                      "operations": ["CREATE", "UPDATE"], "resources": ["*/*"]}]
    core.append(_webhook("ValidatingWebhookConfiguration", "validation.webhook.serving.knative.dev",
                         "validation.webhook.serving.knative.dev", "webhook", ns, "/resource-validation",
                         serving_rules))
    core.append(_webhook("MutatingWebhookConfiguration", "webhook.serving.knative.dev", "webhook.serving.knative.dev",
                         "webhook", ns, "/defaulting", serving_rules))
    config_hook = _webhook("ValidatingWebhookConfiguration", "config.webhook.serving.knative.dev",
                           "config.webhook.serving.knative.dev", "webhook", ns, "/config-validation",
                           [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                             "resources": ["configmaps/*"]}])
    config_hook["webhooks"][0]["objectSelector"] = {"matchLabels": {"app.kubernetes.io/name": "knative-serving"}}
    core.append(config_hook)
    base = "knative/serving/releases/download/%s/" % tag
    return {base + "serving-crds.yaml": crds, base + "serving-core.yaml": core}


def nvidia_driver_installer(ref="master"):
    """GKE's driver-installer DaemonSets (raw files of container-engine-accelerators, not a release):
    one for COS nodes, one for Ubuntu nodes. Both skip nodes whose driver GKE manages."""
    files = {}
    for variant, image in (("cos", "cos-nvidia-installer:fixed"), ("ubuntu", "ubuntu-nvidia-driver-installer")):
        labels = {"k8s-app": "nvidia-driver-installer"}
        distro = "cos" if variant == "cos" else "ubuntu"
        daemonset = {
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "nvidia-driver-installer", "namespace": "kube-system", "labels": labels},
            "spec": {"selector": {"matchLabels": labels}, "updateStrategy": {"type": "RollingUpdate"},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "priorityClassName": "system-node-critical", "hostNetwork": True, "hostPID": True,
                         "tolerations": [{"operator": "Exists"}],
                         "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                             "nodeSelectorTerms": [{"matchExpressions": [
                                 {"key": "cloud.google.com/gke-accelerator", "operator": "Exists"},
                                 {"key": "cloud.google.com/gke-gpu-driver-version", "operator": "DoesNotExist"},
                                 {"key": "cloud.google.com/gke-os-distribution", "operator": "In",
                                  "values": [distro]}]}]}}},
                         "containers": [{"name": "pause", "image": "gcr.io/google-containers/pause:2.0"}],
                         "initContainers": [{"name": "nvidia-driver-installer", "image": "gke-nvidia-installer/"
                                             + image, "securityContext": {"privileged": True}}]}}}}
        path = ("GoogleCloudPlatform/container-engine-accelerators/%s/nvidia-driver-installer/%s/"
                "daemonset-preloaded.yaml" % (ref, variant))
        files["raw/" + path] = [daemonset]
    return files


# component name in versions.yml -> the function that writes its release files
RELEASES = {"cert_manager": cert_manager, "knative": knative_serving}
# files that are not versioned releases (raw.githubusercontent.com paths, under raw/)
UNVERSIONED = (nvidia_driver_installer,)


def write_mirror(directory, versions):
    """Write the stand-in release files for these versions, and the unversioned ones; return their paths."""
    files = {}
    for component, make in RELEASES.items():
        if component in versions:
            files.update(make(versions[component]))
    for make in UNVERSIONED:
        files.update(make())
    for relative, docs in files.items():
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("# Lab stand-in for %s, written by scripts/kserve_lab/releases.py.\n" % relative)
            yaml.safe_dump_all(docs, handle, sort_keys=False)
    return sorted(files)


class MirrorHandler(SimpleHTTPRequestHandler):
    """Static files from .lab/mirror, as a release mirror serves them: no directory listings,
    with the lab's request log and faults."""

    protocol_version = "HTTP/1.1"
    _status = 0

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """The request log replaces the default stderr lines."""

    def send_response(self, code, message=None):
        self._status = code
        super().send_response(code, message)

    def list_directory(self, path):
        self.send_error(404, "Not Found")

    def _serve(self, method, handler):
        path = urlsplit(self.path).path
        fault = start_request(self, method, path)
        if fault == "reset":
            return
        if fault in ("429", "500", "503"):
            self.send_error(int(fault))
        else:
            handler()
        self.server.log.record("mirror", method, path, self._status, **({"fault": fault} if fault else {}))

    def do_GET(self):  # noqa: N802
        self._serve("GET", super().do_GET)

    def do_HEAD(self):  # noqa: N802
        self._serve("HEAD", super().do_HEAD)


class MirrorServer(LabServer):
    def __init__(self, address, directory, log, knobs):
        super().__init__(address, partial(MirrorHandler, directory=directory), "mirror", log, knobs)
