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
replaces https://github.com/ and nothing else. Istio's Helm charts are packaged
charts with a repository index.yaml under istio-release/charts/, as Istio's
chart bucket lays them out.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import tarfile
from functools import partial
from http.server import SimpleHTTPRequestHandler
from urllib.parse import urlsplit

import yaml

from .core import LabServer, start_request


def _crd(group, kind, plural, scope="Namespaced", short=(), categories=(), version="v1"):
    """A CRD with a permissive schema; `version` may be a tuple, the first one stored."""
    open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    versions = (version,) if isinstance(version, str) else tuple(version)
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "%s.%s" % (plural, group)},
        "spec": {
            "group": group, "scope": scope,
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower(),
                      **({"shortNames": list(short)} if short else {}),
                      **({"categories": list(categories)} if categories else {})},
            "versions": [{"name": name, "served": True, "storage": name == versions[0], "subresources": {"status": {}},
                          "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                              "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                              "metadata": {"type": "object"}, "spec": open_object, "status": open_object}}}}
                         for name in versions],
        },
    }


def _approved(crd, review):
    """A CRD of a protected group (*.k8s.io, *.kubernetes.io) carries the API review that approved it, as upstream's
    do; kube-apiserver refuses one without the api-approved.kubernetes.io annotation."""
    crd["metadata"].setdefault("annotations", {})["api-approved.kubernetes.io"] = review
    return crd


def _labels(app, component, part_of):
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": part_of}


def _deployment(name, namespace, labels, image, port=None, secret_volume=None, args=(), requests=None,
                replicas=1, pod_labels=None):
    """A Deployment; `requests` as (cpu, memory) when upstream's container asks for resources, `replicas`
    None when upstream leaves the count to an autoscaler, `pod_labels` added to the Pod template's."""
    container = {"name": name, "image": image, "args": list(args),
                 **({"ports": [{"containerPort": port, "name": "https"}]} if port else {})}
    if requests:
        container["resources"] = {"requests": {"cpu": requests[0], "memory": requests[1]}}
    spec = {"serviceAccountName": name, "containers": [container]}
    if secret_volume:
        container["volumeMounts"] = [{"name": "cert", "mountPath": "/tmp/certs", "readOnly": True}]
        spec["volumes"] = [{"name": "cert", "secret": {"secretName": secret_volume}}]
    meta = {"name": name, "namespace": namespace, "labels": labels}
    body = {"selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": dict(labels, **(pod_labels or {}))}, "spec": spec}}
    if replicas is not None:
        body = dict({"replicas": replicas}, **body)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": body}


def _autoscaler(name, namespace, target, low, high, labels=None):
    """A HorizontalPodAutoscaler on CPU, as the upstream manifests and charts ship them."""
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace, **({"labels": labels} if labels else {})},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": low, "maxReplicas": high,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 80}}}]}}


def _digest(*parts):
    """An image digest that stands in for the one a release pins (Knative's manifests pin by digest)."""
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


def _service(name, namespace, selector, port, target, kind="ClusterIP", ports=None):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"type": kind, "selector": selector,
                     "ports": ports or [{"name": "https", "port": port, "targetPort": target}]}}


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


# Knative Serving's core Deployments with the requests of upstream's config/core/deployments (knative-v1.22.1)
# and, for the two that upstream autoscales, the bounds of their HorizontalPodAutoscalers.
KNATIVE_CORE = (("activator", ("300m", "60Mi"), (1, 20)), ("autoscaler", ("100m", "100Mi"), None),
                ("controller", ("100m", "100Mi"), None), ("webhook", ("100m", "100Mi"), (1, 5)))


def knative_serving(version):
    """Knative Serving's two release files: the CRDs, and the core (controllers, webhook, config), following
    knative-v1.22.1: images pinned by digest, Pods labelled with app.kubernetes.io/name knative-serving and the
    release (the lab's version check reads them), the requests upstream sets, the activator's and webhook's
    autoscalers. Left out: RBAC, the caching Images, the config maps' documentation."""
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
    for name, requests, scaled in KNATIVE_CORE:
        core.append(_service_account(name, ns))
        image = "gcr.io/knative-releases/knative.dev/serving/cmd/%s@%s" % (name, _digest("serving", name, version))
        core.append(_deployment(name, ns, {"app": name}, image, port=8443 if name == "webhook" else None,
                                requests=requests, replicas=None if scaled else 1,
                                pod_labels=dict(labels, **{"app.kubernetes.io/component": name})))
        core[-1]["metadata"]["labels"] = dict(labels, app=name, **{"app.kubernetes.io/component": name})
        if scaled:
            core.append(_autoscaler(name, ns, name, *scaled, labels=dict(labels, **{
                "app.kubernetes.io/component": name})))
    core.append(_service("webhook", ns, {"app": "webhook"}, 443, 8443))
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


def _istio_crds(version):
    """Istio's 14 CRDs, with the versions each serves (the first one stored), as base-<version> ships them."""
    crds = []
    three, two = ("v1", "v1alpha3", "v1beta1"), ("v1", "v1beta1")
    for group, kinds in (
            ("networking.istio.io", (("DestinationRule", "destinationrules", ("dr",), three),
                                     ("EnvoyFilter", "envoyfilters", (), ("v1alpha3",)),
                                     ("Gateway", "gateways", ("gw",), three),
                                     ("ProxyConfig", "proxyconfigs", (), ("v1beta1",)),
                                     ("ServiceEntry", "serviceentries", ("se",), three),
                                     ("Sidecar", "sidecars", (), three),
                                     ("VirtualService", "virtualservices", ("vs",), three),
                                     ("WorkloadEntry", "workloadentries", ("we",), three),
                                     ("WorkloadGroup", "workloadgroups", ("wg",), three))),
            ("security.istio.io", (("AuthorizationPolicy", "authorizationpolicies", ("ap",), two),
                                   ("PeerAuthentication", "peerauthentications", ("pa",), two),
                                   ("RequestAuthentication", "requestauthentications", ("ra",), two))),
            ("telemetry.istio.io", (("Telemetry", "telemetries", ("telemetry",), ("v1alpha1", "v1")),)),
            ("extensions.istio.io", (("WasmPlugin", "wasmplugins", (), ("v1alpha1",)),))):
        for kind, plural, short, versions in kinds:
            crd = _crd(group, kind, plural, short=short, version=versions,
                       categories=["istio-io", group.split(".", maxsplit=1)[0] + "-istio-io"])
            crd["metadata"]["labels"] = {"app.kubernetes.io/part-of": "istio", "app.kubernetes.io/version": version,
                                         "helm.sh/chart": "base-%s" % version}
            crds.append(crd)
    return crds


def _istiod(ns, image, requests=("500m", "2048Mi"), autoscale=(1, 5)):
    """istiod: its ServiceAccount, Deployment (sized as upstream sizes it, its replicas left to its
    autoscaler), HorizontalPodAutoscaler, PodDisruptionBudget and Service, the sidecar injector (by namespace
    label, and by the Pod label sidecar.istio.io/inject that gateway Pods carry) and the config validation
    webhook."""
    pilot = {"app": "istiod", "istio": "pilot"}
    pods = [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]
    injector = _webhook("MutatingWebhookConfiguration", "istio-sidecar-injector", "namespace.sidecar-injector.istio.io",
                        "istiod", ns, "/inject", pods, {"matchLabels": {"istio-injection": "enabled"}})
    by_label = _webhook("MutatingWebhookConfiguration", "istio-sidecar-injector", "object.sidecar-injector.istio.io",
                        "istiod", ns, "/inject", pods,
                        {"matchExpressions": [{"key": "istio-injection", "operator": "DoesNotExist"}]})["webhooks"][0]
    by_label["objectSelector"] = {"matchLabels": {"sidecar.istio.io/inject": "true"}}
    injector["webhooks"].append(by_label)
    validator = _webhook("ValidatingWebhookConfiguration", "istio-validator-%s" % ns,
                         "rev.validation.istio.io", "istiod", ns, "/validate",
                         [{"apiGroups": ["networking.istio.io", "security.istio.io", "telemetry.istio.io"],
                           "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": ["*"]}])
    deployment = _deployment("istiod", ns, pilot, image, port=15017, args=("discovery", "--monitoringAddr=:15014"),
                             requests=requests, replicas=None)
    deployment["spec"]["template"]["spec"]["containers"][0]["name"] = "discovery"
    return [_service_account("istiod", ns), deployment,
            _autoscaler("istiod", ns, "istiod", *autoscale, labels=pilot),
            {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
             "metadata": {"name": "istiod", "namespace": ns, "labels": pilot},
             "spec": {"minAvailable": 1, "selector": {"matchLabels": pilot}}},
            _service("istiod", ns, pilot, 443, 15017, ports=[
                {"name": "grpc-xds", "port": 15010, "targetPort": 15010},
                {"name": "https-dns", "port": 15012, "targetPort": 15012},
                {"name": "https-webhook", "port": 443, "targetPort": 15017},
                {"name": "http-monitoring", "port": 15014, "targetPort": 15014}]),
            injector, validator]


# The Istio each net-istio tag's istio.yaml installs (third_party/istio-latest/istio-ci-no-mesh, tag by tag).
NET_ISTIO_ISTIO = {"1.19.0": "1.26.2", "1.20.0": "1.27.1", "1.20.4": "1.27.9", "1.21.0": "1.28.2",
                   "1.21.3": "1.28.6", "1.22.0": "1.29.2"}


def net_istio(version):
    """net-istio's two release files at tag knative-v<version>. istio.yaml is Knative's CI profile
    (istio-ci-no-mesh), not a chosen Istio: it installs the Istio of NET_ISTIO_ISTIO whatever is pinned,
    with istio-ingressgateway at 3 replicas asking 1 CPU and 1 GiB each, and istiod autoscaled from 3 Pods
    asking 500m and 2 GiB each (4.5 CPU in all: more than a default system pool has). net-istio.yaml is
    Knative's Istio networking layer: its controller and webhook (sized as upstream sizes them) and the
    knative-ingress-gateway and knative-local-gateway. Left out: RBAC, Istio's mesh config maps."""
    ns, istio = "istio-system", NET_ISTIO_ISTIO[version]
    gateway = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    gateway_deployment = _deployment("istio-ingressgateway", ns, gateway, "docker.io/istio/proxyv2:%s" % istio,
                                     args=("proxy", "router"), requests=("1000m", "1024Mi"), replicas=3,
                                     pod_labels={"sidecar.istio.io/inject": "false"})
    gateway_deployment["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-service-account"
    gateway_deployment["spec"]["template"]["spec"]["containers"][0]["name"] = "istio-proxy"
    istiod = _istiod(ns, "docker.io/istio/pilot:%s" % istio, autoscale=(3, 10))
    istio_docs = ([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}] + _istio_crds(istio)
                  + istiod + [_service_account("istio-ingressgateway-service-account", ns), gateway_deployment,
                              _service("istio-ingressgateway", ns, gateway, 80, 8080, kind="LoadBalancer", ports=[
                                  {"name": "status-port", "port": 15021, "targetPort": 15021},
                                  {"name": "http2", "port": 80, "targetPort": 8080},
                                  {"name": "https", "port": 443, "targetPort": 8443}])])

    kns = "knative-serving"
    labels = {"app.kubernetes.io/name": "knative-serving", "networking.knative.dev/ingress-provider": "istio"}
    layer = [{"apiVersion": "networking.istio.io/v1beta1", "kind": "Gateway",
              "metadata": {"name": name, "namespace": kns, "labels": labels},
              "spec": {"selector": {"istio": "ingressgateway"},
                       "servers": [{"hosts": ["*"], "port": {"name": "http", "number": port, "protocol": "HTTP"}}]}}
             for name, port in (("knative-ingress-gateway", 80), ("knative-local-gateway", 8081))]
    layer.append(_service("knative-local-gateway", ns, {"istio": "ingressgateway"}, 80, 8081,
                          ports=[{"name": "http2", "port": 80, "targetPort": 8081}]))
    layer.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "config-istio", "namespace": kns,
                                                                        "labels": labels},
                  "data": {"_example": "# gateways Knative routes through"}})
    pod_labels = dict(labels, **{"app.kubernetes.io/component": "net-istio", "app.kubernetes.io/version": version})
    for name, requests in (("net-istio-controller", ("30m", "40Mi")), ("net-istio-webhook", ("20m", "20Mi"))):
        binary = name.rsplit("-", maxsplit=1)[-1]
        layer.append(_service_account(name, kns))
        layer.append(_deployment(name, kns, {"app": name}, "gcr.io/knative-releases/knative.dev/net-istio/cmd/%s@%s"
                                 % (binary, _digest("net-istio", binary, version)),
                                 port=8443 if name == "net-istio-webhook" else None, requests=requests,
                                 pod_labels=pod_labels))
        layer[-1]["metadata"]["labels"] = dict(pod_labels, app=name)
    layer.append(_service("net-istio-webhook", kns, {"app": "net-istio-webhook"}, 443, 8443))
    layer.append(_webhook("ValidatingWebhookConfiguration", "config.webhook.istio.networking.internal.knative.dev",
                          "config.webhook.istio.networking.internal.knative.dev", "net-istio-webhook", kns,
                          "/config-validation", [{"apiGroups": [""], "apiVersions": ["v1"],
                                                  "operations": ["CREATE", "UPDATE"], "resources": ["configmaps/*"]}]))
    layer[-1]["webhooks"][0]["objectSelector"] = {"matchLabels": {"networking.knative.dev/ingress-provider": "istio"}}
    base = "knative-extensions/net-istio/releases/download/knative-v%s/" % version
    return {base + "istio.yaml": istio_docs, base + "net-istio.yaml": layer}


# The label KServe puts on a predictor's Pods (its pod-mutating webhook selects them by it).
ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"
# Istio's Helm charts live in the istio-release bucket (istio-release.storage.googleapis.com/charts is
# storage.googleapis.com/istio-release/charts), so a mirror keeps them under this path.
ISTIO_CHARTS = "istio-release/charts"
# Helm template placeholders, put in after the YAML is written (yaml would quote the braces).
_TEMPLATE = {"__NAMESPACE__": "{{ .Release.Namespace }}", "__RELEASE__": "{{ .Release.Name }}",
             "__GATEWAY_LABEL__": '{{ .Release.Name | trimPrefix "istio-" }}',
             "__SERVICE_TYPE__": "{{ .Values.service.type }}",
             "__PILOT_IMAGE__": "{{ .Values.hub }}/pilot:{{ .Values.tag | default .Chart.AppVersion }}",
             "__PILOT_MIN__": "{{ .Values.pilot.autoscaleMin }}", "__PILOT_MAX__": "{{ .Values.pilot.autoscaleMax }}",
             "__GATEWAY_MIN__": "{{ .Values.autoscaling.minReplicas }}",
             "__GATEWAY_MAX__": "{{ .Values.autoscaling.maxReplicas }}"}
# Placeholders that stand for a whole map of values, as `key: __PLACEHOLDER__` on a line of their own.
_BLOCKS = {"__PILOT_RESOURCES__": ".Values.pilot.resources", "__GATEWAY_RESOURCES__": ".Values.resources"}
_BLOCK_LINE = re.compile(r"^( *)([\w.-]+): (__[A-Z_]+__)$", re.MULTILINE)


class _NoAliases(yaml.SafeDumper):
    """Charts spell shared label maps out in full, as their templates do."""

    def ignore_aliases(self, data):
        return True


def _template(docs, condition=None):
    text = yaml.dump_all(docs, Dumper=_NoAliases, sort_keys=False)
    text = _BLOCK_LINE.sub(lambda m: "%s%s:{{ toYaml %s | nindent %d }}" % (
        m.group(1), m.group(2), _BLOCKS[m.group(3)], len(m.group(1)) + 2) if m.group(3) in _BLOCKS else m.group(0),
        text)
    for placeholder, expression in _TEMPLATE.items():
        text = text.replace(placeholder, expression)
    return "{{- if %s }}\n%s{{- end }}\n" % (condition, text) if condition else text


def _chart_archive(name, version, description, values, templates):
    """A packaged chart as `helm package` lays it out: NAME/Chart.yaml, values.yaml, templates/."""
    chart = {"apiVersion": "v2", "name": name, "version": version, "appVersion": version,
             "description": description, "type": "application", "home": "https://istio.io"}
    files = {"Chart.yaml": yaml.safe_dump(chart, sort_keys=False),
             "values.yaml": "# Lab stand-in, written by lab/kserve_lab/releases.py.\n"
                            + yaml.safe_dump(values, sort_keys=False)}
    files.update(("templates/" + file, text) for file, text in templates.items())
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for relative, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo("%s/%s" % (name, relative))
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return chart, buffer.getvalue()


def istio_charts(version):
    """Istio's three Helm charts, as `helm install istio-base istio/base`, `istiod istio/istiod` and
    `istio-ingressgateway istio/gateway` use them, with the repository's index.yaml, following the charts'
    defaults: istiod asks 500m and 2 GiB and is autoscaled from 1 to 5 Pods (pilot.autoscaleMin/Max,
    pilot.resources); the gateway asks 100m and 128 MiB and is autoscaled from 1 to 5 (autoscaling.*,
    resources); the gateway's Pod asks istiod's injector for its proxy (image "auto"), so it cannot be
    created before istiod serves. Left out: every other value (accepted, ignored), autoscaleEnabled false."""
    ns = "__NAMESPACE__"
    gateway_labels = {"app": "__RELEASE__", "istio": "__GATEWAY_LABEL__"}
    gateway = _deployment("__RELEASE__", ns, gateway_labels, "auto", args=("proxy", "router"), replicas=None)
    gateway["spec"]["template"]["metadata"] = {"labels": dict(gateway_labels, **{"sidecar.istio.io/inject": "true"}),
                                               "annotations": {"inject.istio.io/templates": "gateway"}}
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    container.update(name="istio-proxy", resources="__GATEWAY_RESOURCES__")
    gateway_docs = [_service_account("__RELEASE__", ns), gateway,
                    _autoscaler("__RELEASE__", ns, "__RELEASE__", "__GATEWAY_MIN__", "__GATEWAY_MAX__",
                                labels=gateway_labels),
                    _service("__RELEASE__", ns, gateway_labels, 80, 80, kind="__SERVICE_TYPE__", ports=[
                        {"name": "status-port", "port": 15021, "targetPort": 15021},
                        {"name": "http2", "port": 80, "targetPort": 80},
                        {"name": "https", "port": 443, "targetPort": 443}])]
    istiod = _istiod(ns, "__PILOT_IMAGE__", autoscale=("__PILOT_MIN__", "__PILOT_MAX__"))
    istiod[1]["spec"]["template"]["spec"]["containers"][0]["resources"] = "__PILOT_RESOURCES__"
    charts = {
        "base": ("Helm chart for deploying Istio cluster resources and CRDs",
                 {"defaultRevision": "default", "base": {"enableCRDTemplates": True}},
                 {"crds.yaml": _template(_istio_crds(version), ".Values.base.enableCRDTemplates")}),
        "istiod": ("Helm chart for istio control plane", {
            "hub": "docker.io/istio", "tag": "",
            "pilot": {"autoscaleEnabled": True, "autoscaleMin": 1, "autoscaleMax": 5, "replicaCount": 1,
                      "resources": {"requests": {"cpu": "500m", "memory": "2048Mi"}}}},
                   {"istiod.yaml": _template(istiod)}),
        "gateway": ("Helm chart for deploying Istio gateways", {
            "service": {"type": "LoadBalancer"},
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2000m", "memory": "1024Mi"}},
            "autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80}},
            {"gateway.yaml": _template(gateway_docs)}),
    }
    files, entries = {}, {}
    for name, (description, values, templates) in charts.items():
        chart, archive = _chart_archive(name, version, description, values, templates)
        file = "%s-%s.tgz" % (name, version)
        files["%s/%s" % (ISTIO_CHARTS, file)] = archive
        entries[name] = [dict(chart, urls=[file], digest=hashlib.sha256(archive).hexdigest(),
                              created="2026-01-01T00:00:00Z")]
    index = {"apiVersion": "v1", "entries": entries, "generated": "2026-01-01T00:00:00Z"}
    files[ISTIO_CHARTS + "/index.yaml"] = yaml.safe_dump(index, sort_keys=False).encode("utf-8")
    return files


def _isvc_spec_schema():
    """The InferenceService fields the collection writes, typed as KServe types them (the real schema
    declares every PodSpec field too: those are left open here)."""
    def open_obj():
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}

    def open_list():
        return {"type": "array", "items": open_obj()}
    string, integer = {"type": "string"}, {"type": "integer"}
    quantity_map = {"type": "object", "additionalProperties": {"x-kubernetes-int-or-string": True},
                    "x-kubernetes-preserve-unknown-fields": True}
    model = {"type": "object", "properties": {
        "modelFormat": {"type": "object", "required": ["name"], "properties": {"name": string, "version": string}},
        "runtime": string, "runtimeVersion": string, "storageUri": string, "protocolVersion": string,
        "name": string, "image": string, "args": {"type": "array", "items": string},
        "command": {"type": "array", "items": string}, "env": open_list(), "ports": open_list(),
        "volumeMounts": open_list(), "readinessProbe": open_obj(), "livenessProbe": open_obj(),
        "resources": {"type": "object", "properties": {"limits": quantity_map, "requests": quantity_map}}}}
    predictor = {"type": "object", "properties": {
        "model": model, "tensorflow": model, "sklearn": model, "pytorch": model, "xgboost": model, "onnx": model,
        "triton": model, "huggingface": model,
        "minReplicas": {"type": "integer", "minimum": 0}, "maxReplicas": {"type": "integer", "minimum": 0},
        "canaryTrafficPercent": {"type": "integer", "format": "int64"}, "serviceAccountName": string,
        "scaleTarget": integer, "scaleMetric": {"type": "string", "enum": ["cpu", "memory", "concurrency", "rps"]},
        "timeout": integer, "containerConcurrency": integer, "deploymentStrategy": open_obj(),
        "nodeSelector": {"type": "object", "additionalProperties": string},
        "tolerations": open_list(), "affinity": open_obj(), "labels": open_obj(), "annotations": open_obj(),
        "containers": open_list(), "volumes": open_list(), "imagePullSecrets": open_list(),
        "priorityClassName": string, "schedulerName": string, "securityContext": open_obj(),
        "logger": open_obj(), "batcher": open_obj()}}
    return {"type": "object", "required": ["predictor"], "properties": {
        "predictor": predictor, "transformer": open_obj(), "explainer": open_obj()}}


# LLMInferenceServiceConfig objects that kserve-cluster-resources.yaml ships in namespace kserve; KServe's
# llmisvc webhook calls these "well-known" and refuses to delete them (pkg/controller/v1alpha2/llmisvc/
# config_merge.go, WellKnownDefaultConfigs, at v0.20.0).
LLM_CONFIGS = ("kserve-config-llm-decode-template", "kserve-config-llm-decode-worker-data-parallel",
               "kserve-config-llm-prefill-template", "kserve-config-llm-prefill-worker-data-parallel",
               "kserve-config-llm-router-route", "kserve-config-llm-scheduler",
               "kserve-config-llm-scheduler-latency-predictor", "kserve-config-llm-template",
               "kserve-config-llm-tracing", "kserve-config-llm-worker-data-parallel")
# The 14 ClusterServingRuntimes of kserve-cluster-resources.yaml: name, model formats, image, protocols.
KSERVE_RUNTIMES = (
    ("kserve-autogluonserver", ("autogluon",), "kserve/autogluonserver", ("v1", "v2")),
    ("kserve-huggingfaceserver", ("huggingface",), "kserve/huggingfaceserver", ("v1", "v2")),
    ("kserve-huggingfaceserver-multinode", ("huggingface",), "kserve/huggingfaceserver", ("v1", "v2")),
    ("kserve-lgbserver", ("lightgbm",), "kserve/lgbserver", ("v1", "v2")),
    ("kserve-mlserver", ("sklearn", "xgboost", "lightgbm", "mlflow"), "docker.io/seldonio/mlserver:1.5.0", ("v2",)),
    ("kserve-paddleserver", ("paddle",), "kserve/paddleserver", ("v1", "v2")),
    ("kserve-pmmlserver", ("pmml",), "kserve/pmmlserver", ("v1", "v2")),
    ("kserve-predictiveserver", ("sklearn", "xgboost", "lightgbm"), "kserve/predictiveserver", ("v1", "v2")),
    ("kserve-sklearnserver", ("sklearn",), "kserve/sklearnserver", ("v1", "v2")),
    ("kserve-tensorflow-serving", ("tensorflow",), "tensorflow/serving:2.6.2", ("v1", "grpc-v1")),
    ("kserve-torchserve", ("pytorch",), "pytorch/torchserve-kfs:0.9.0", ("v1", "v2", "grpc-v2")),
    ("kserve-tritonserver", ("tensorrt", "tensorflow", "onnx", "pytorch", "triton"),
     "nvcr.io/nvidia/tritonserver:23.05-py3", ("v2", "grpc-v2")),
    ("kserve-vllmserver", ("vllm",), "kserve/vllmserver", ("openai",)),
    ("kserve-xgbserver", ("xgboost",), "kserve/xgbserver", ("v1", "v2")),
)


def kserve(version):
    """KServe's two release files at v<version>, following v0.20.0's release build (config/overlays/all and
    config/clusterresources through kustomize, the Namespace dropped by the release script's yq filter).

    kserve.yaml: no Namespace (every namespaced object is in kserve, which the installer must create first);
    16 CRDs (the LLMInferenceService ones with conversion webhooks); the Deployments kserve-controller-manager,
    kserve-localmodel-controller-manager and llmisvc-controller-manager (each asking 100m and 200-300 MiB, each
    mounting a webhook certificate cert-manager issues) and the kserve-localmodelnode-agent DaemonSet (on nodes
    labelled kserve/localmodel=worker only); their webhook Services; three cert-manager Certificates and the
    self-signed Issuer; inferenceservice-config with JSON under its keys; the ClusterStorageContainer default
    (namespaced by kustomize although cluster-scoped, as upstream's is); ten webhook configurations, with
    upstream's names, rules and selectors.
    kserve-cluster-resources.yaml: 14 ClusterServingRuntimes (kserve-tensorflow-serving on tensorflow/serving
    2.6.2 asking 1 CPU and 2 GiB) and the 10 LLMInferenceServiceConfigs in kserve, which pass through the llmisvc
    webhook on create, update and delete. The InferencePool CRD of inference.networking.k8s.io (a protected group)
    carries the api-approved.kubernetes.io annotation upstream's has (gateway-api-inference-extension PR 1173),
    without which kube-apiserver refuses it. Left out: RBAC, the CRDs' full schemas (the InferenceService one
    declares what the collection writes), the kube-rbac-proxy sidecar, the runtimes' full arguments."""
    ns = "kserve"
    group = "serving.kserve.io"
    crds = [_crd(group, "InferenceService", "inferenceservices", short=("isvc",), version="v1beta1")]
    crds[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = _isvc_spec_schema()
    crds += [_crd(group, kind, plural, scope=scope, short=short, version=versions)
             for kind, plural, scope, short, versions in (
                 ("ServingRuntime", "servingruntimes", "Namespaced", (), "v1alpha1"),
                 ("ClusterServingRuntime", "clusterservingruntimes", "Cluster", (), "v1alpha1"),
                 ("TrainedModel", "trainedmodels", "Namespaced", ("tm",), "v1alpha1"),
                 ("InferenceGraph", "inferencegraphs", "Namespaced", ("ig",), "v1alpha1"),
                 ("ClusterStorageContainer", "clusterstoragecontainers", "Cluster", (), "v1alpha1"),
                 ("LocalModelCache", "localmodelcaches", "Cluster", (), "v1alpha1"),
                 ("LocalModelNamespaceCache", "localmodelnamespacecaches", "Namespaced", (), "v1alpha1"),
                 ("LocalModelNode", "localmodelnodes", "Cluster", (), "v1alpha1"),
                 ("LocalModelNodeGroup", "localmodelnodegroups", "Cluster", (), "v1alpha1"),
                 ("LLMInferenceService", "llminferenceservices", "Namespaced", ("llmisvc",), ("v1alpha2", "v1alpha1")),
                 ("LLMInferenceServiceConfig", "llminferenceserviceconfigs", "Namespaced", (),
                  ("v1alpha2", "v1alpha1")))]
    for crd in crds[-2:]:
        crd["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": {
            "service": {"name": "llmisvc-webhook-server-service", "namespace": ns, "path": "/convert", "port": 443}}}}
    crds += [_crd("llm-d.ai", "InferenceModelRewrite", "inferencemodelrewrites", version="v1alpha2"),
             _crd("llm-d.ai", "InferenceObjective", "inferenceobjectives", version="v1alpha2"),
             _approved(_crd("inference.networking.k8s.io", "InferencePool", "inferencepools", short=("infpool",)),
                       "https://github.com/kubernetes-sigs/gateway-api-inference-extension/pull/1173"),
             _crd("inference.networking.x-k8s.io", "InferencePool", "inferencepools", short=("xinfpool",),
                  version="v1alpha2")]
    docs = list(crds)
    for name, plane, port, secret, requests in (
            ("kserve-controller-manager", "kserve-controller-manager", 9443, "kserve-webhook-server-cert",
             ("100m", "200Mi")),
            ("kserve-localmodel-controller-manager", "kserve-localmodel-controller-manager", 9443,
             "localmodel-webhook-server-cert", ("100m", "200Mi")),
            ("llmisvc-controller-manager", "llmisvc-controller-manager", 9443, "llmisvc-webhook-server-cert",
             ("100m", "300Mi"))):
        image = {"kserve-controller-manager": "kserve/kserve-controller",
                 "kserve-localmodel-controller-manager": "kserve/kserve-localmodel-controller",
                 "llmisvc-controller-manager": "kserve/llmisvc-controller"}[name]
        labels = {"control-plane": plane, "controller-tools.k8s.io": "1.0"}
        docs.append(_service_account(name, ns))
        deployment = _deployment(name, ns, labels, "%s:v%s" % (image, version), port=port, secret_volume=secret,
                                 args=("--metrics-addr=127.0.0.1:8080", "--leader-elect"), requests=requests)
        deployment["spec"]["template"]["spec"]["containers"][0]["name"] = "manager"
        docs.append(deployment)
    agent = _deployment("kserve-localmodelnode-agent", ns, {"control-plane": "kserve-localmodelnode-agent"},
                        "kserve/kserve-localmodelnode-agent:v%s" % version, requests=("100m", "200Mi"), replicas=None)
    agent["kind"] = "DaemonSet"
    agent["spec"]["template"]["spec"]["nodeSelector"] = {"kserve/localmodel": "worker"}
    docs += [_service_account("kserve-localmodelnode-agent", ns), agent]
    docs += [_service("kserve-webhook-server-service", ns, {"control-plane": "kserve-controller-manager"}, 443, 9443),
             _service("llmisvc-webhook-server-service", ns, {"control-plane": "llmisvc-controller-manager"}, 443, 9443),
             _service("localmodel-webhook-server-service", ns, {"control-plane": "kserve-localmodel-controller-manager"},
                      443, 9443)]
    docs.append({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                 "metadata": {"name": "selfsigned-issuer", "namespace": ns}, "spec": {"selfSigned": {}}})
    for cert, service, secret in (("llmisvc-serving-cert", "llmisvc-webhook-server-service", "llmisvc-webhook-server-cert"),
                                  ("localmodel-serving-cert", "localmodel-webhook-server-service",
                                   "localmodel-webhook-server-cert"),
                                  ("serving-cert", "kserve-webhook-server-service", "kserve-webhook-server-cert")):
        host = "%s.%s.svc" % (service, ns)
        docs.append({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                     "metadata": {"name": cert, "namespace": ns},
                     "spec": {"commonName": host, "dnsNames": [host],
                              "issuerRef": {"kind": "Issuer", "name": "selfsigned-issuer"}, "secretName": secret}})
    config = {
        "deploy": {"defaultDeploymentMode": "Serverless"},
        "ingress": {"enableGatewayApi": False, "kserveIngressGateway": "kserve/kserve-ingress-gateway",
                    "ingressGateway": "knative-serving/knative-ingress-gateway",
                    "localGateway": "knative-serving/knative-local-gateway",
                    "localGatewayService": "knative-local-gateway.istio-system.svc.cluster.local",
                    "ingressDomain": "example.com", "ingressClassName": "istio",
                    "domainTemplate": "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}",
                    "urlScheme": "http", "disableIstioVirtualHost": False, "disableIngressCreation": False,
                    "disableHTTPRouteTimeout": False},
        "storageInitializer": {"image": "kserve/storage-initializer:v%s" % version, "memoryRequest": "100Mi",
                               "memoryLimit": "1Gi", "cpuRequest": "100m", "cpuLimit": "1"},
        "credentials": {"gcs": {"gcsCredentialFileName": "gcloud-application-credentials.json"}},
        "explainers": {}, "logger": {"image": "kserve/agent:v%s" % version}}
    docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inferenceservice-config",
                                                                       "namespace": ns},
                 "data": {key: json.dumps(value, indent=4) for key, value in config.items()}})
    docs.append({"apiVersion": "%s/v1alpha1" % group, "kind": "ClusterStorageContainer",
                 "metadata": {"name": "default", "namespace": ns},
                 "spec": {"container": {"name": "storage-initializer", "image": "kserve/storage-initializer:v%s" % version,
                                        "resources": {"requests": {"cpu": "100m", "memory": "100Mi"},
                                                      "limits": {"cpu": "1", "memory": "1Gi"}}},
                          "supportedUriFormats": [{"prefix": "gs://"}, {"prefix": "s3://"}, {"prefix": "hdfs://"},
                                                  {"prefix": "hf://"}, {"prefix": "webhdfs://"},
                                                  {"regex": "https://(.+?).blob.core.windows.net/(.+)"},
                                                  {"regex": "https?://(.+)/(.+)"}],
                          "workloadType": "initContainer"}})

    def rule(api, plural, operations=("CREATE", "UPDATE")):
        return [{"apiGroups": [group], "apiVersions": [api], "operations": list(operations), "resources": [plural]}]

    def configuration(kind, name, hooks):
        entries = [_webhook(kind, name, hook, service, ns, path, rules)["webhooks"][0]
                   for hook, service, path, rules in hooks]
        return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
                "webhooks": entries}
    kserve_svc, llm_svc = "kserve-webhook-server-service", "llmisvc-webhook-server-service"
    mutating = configuration("MutatingWebhookConfiguration", "inferenceservice.%s" % group, [
        ("inferenceservice.kserve-webhook-server.defaulter", kserve_svc,
         "/mutate-serving-kserve-io-v1beta1-inferenceservice", rule("v1beta1", "inferenceservices")),
        ("inferenceservice.kserve-webhook-server.pod-mutator", kserve_svc, "/mutate-pods",
         [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}])])
    mutating["webhooks"][1]["namespaceSelector"] = {"matchExpressions": [{"key": "control-plane",
                                                                          "operator": "DoesNotExist"}]}
    mutating["webhooks"][1]["objectSelector"] = {"matchExpressions": [{"key": ISVC_POD_LABEL, "operator": "Exists"}]}
    docs.append(mutating)
    docs.append(configuration("MutatingWebhookConfiguration", "llminferenceservice.%s" % group, [
        ("llminferenceservice.kserve-webhook-server.%s.defaulter" % api, llm_svc,
         "/mutate-serving-kserve-io-%s-llminferenceservice" % api, rule(api, "llminferenceservices"))
        for api in ("v1alpha1", "v1alpha2")]))
    for name, plural, api in (("clusterservingruntime", "clusterservingruntimes", "v1alpha1"),
                              ("inferencegraph", "inferencegraphs", "v1alpha1"),
                              ("inferenceservice", "inferenceservices", "v1beta1"),
                              ("servingruntime", "servingruntimes", "v1alpha1"),
                              ("trainedmodel", "trainedmodels", "v1alpha1")):
        docs.append(configuration("ValidatingWebhookConfiguration", "%s.%s" % (name, group), [
            ("%s.kserve-webhook-server.validator" % name, kserve_svc,
             "/validate-serving-kserve-io-%s-%s" % (api, name), rule(api, plural))]))
    docs.append(configuration("ValidatingWebhookConfiguration", "llminferenceservice.%s" % group, [
        ("llminferenceservice.kserve-webhook-server.%s.validator" % api, llm_svc,
         "/validate-serving-kserve-io-%s-llminferenceservice" % api, rule(api, "llminferenceservices"))
        for api in ("v1alpha2", "v1alpha1")]))
    docs.append(configuration("ValidatingWebhookConfiguration", "llminferenceserviceconfig.%s" % group, [
        ("llminferenceserviceconfig.kserve-webhook-server.%s.validator" % api, llm_svc,
         "/validate-serving-kserve-io-%s-llminferenceserviceconfig" % api,
         rule(api, "llminferenceserviceconfigs", ("CREATE", "UPDATE", "DELETE"))) for api in ("v1alpha2", "v1alpha1")]))
    docs.append(configuration("ValidatingWebhookConfiguration", "localmodelcache.%s" % group, [
        ("localmodelcache.kserve-webhook-server.validator", "localmodel-webhook-server-service",
         "/validate-serving-kserve-io-v1alpha1-localmodelcache",
         rule("v1alpha1", "localmodelcaches", ("CREATE", "UPDATE", "DELETE")))]))

    def runtime(name, formats, image, protocols):
        if ":" not in image:
            image = "%s:v%s" % (image, version)
        requests = {"cpu": "1", "memory": "2Gi"}
        return {"apiVersion": "%s/v1alpha1" % group, "kind": "ClusterServingRuntime", "metadata": {"name": name},
                "spec": {"annotations": {"prometheus.kserve.io/port": "8080", "prometheus.kserve.io/path": "/metrics"},
                         "supportedModelFormats": [{"name": f, "version": v, "autoSelect": True, "priority": 2
                                                    if f == "tensorflow" and name.endswith("serving") else 1}
                                                   for f in formats for v in (("1", "2") if f == "tensorflow" else ("1",))],
                         "protocolVersions": list(protocols),
                         "containers": [{"name": "kserve-container", "image": image,
                                         "args": ["--model_name={{.Name}}", "--port=9000", "--rest_api_port=8080",
                                                  "--model_base_path=/mnt/models", "--rest_api_timeout_in_ms=60000"]
                                         if name == "kserve-tensorflow-serving" else ["--model_name={{.Name}}"],
                                         "resources": {"requests": requests, "limits": dict(requests)}}]}}
    cluster = [runtime(*spec) for spec in KSERVE_RUNTIMES]
    cluster += [{"apiVersion": "%s/v1alpha2" % group, "kind": "LLMInferenceServiceConfig",
                 "metadata": {"name": name, "namespace": ns}, "spec": {"template": {"containers": []}}}
                for name in LLM_CONFIGS]
    base = "kserve/kserve/releases/download/v%s/" % version
    return {base + "kserve.yaml": docs, base + "kserve-cluster-resources.yaml": cluster}


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
RELEASES = {"cert_manager": cert_manager, "knative": knative_serving, "net_istio": net_istio, "kserve": kserve,
            "istio": istio_charts}
# files that are not versioned releases (raw.githubusercontent.com paths, under raw/)
UNVERSIONED = (nvidia_driver_installer,)


def write_mirror(directory, versions):
    """Write the stand-in release files (and Istio's charts) for these versions, and the unversioned ones;
    return their paths."""
    files = {}
    for component, make in RELEASES.items():
        if component in versions:
            files.update(make(versions[component]))
    for make in UNVERSIONED:
        files.update(make())
    for relative, docs in files.items():
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(docs, bytes):  # a packaged chart or a chart repository's index
            with open(path, "wb") as handle:
                handle.write(docs)
            continue
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("# Lab stand-in for %s, written by lab/kserve_lab/releases.py.\n" % relative)
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
