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


def _istio_crds():
    crds = []
    for group, kinds in (
            ("networking.istio.io", (("Gateway", "gateways", ("gw",)), ("VirtualService", "virtualservices", ("vs",)),
                                     ("DestinationRule", "destinationrules", ("dr",)),
                                     ("ServiceEntry", "serviceentries", ("se",)), ("Sidecar", "sidecars", ()),
                                     ("EnvoyFilter", "envoyfilters", ()), ("WorkloadEntry", "workloadentries", ("we",)))),
            ("security.istio.io", (("PeerAuthentication", "peerauthentications", ("pa",)),
                                   ("AuthorizationPolicy", "authorizationpolicies", ("ap",)),
                                   ("RequestAuthentication", "requestauthentications", ("ra",)))),
            ("telemetry.istio.io", (("Telemetry", "telemetries", ("telemetry",)),))):
        for kind, plural, short in kinds:
            crd = _crd(group, kind, plural, short=short, categories=["istio-io", group.split(".", maxsplit=1)[0] + "-istio-io"],
                       version=("v1", "v1beta1", "v1alpha3") if group == "networking.istio.io" else ("v1", "v1beta1"))
            crd["metadata"]["labels"] = {"knative.dev/crd-install": "true", "app": "istio-pilot"}
            crds.append(crd)
    return crds


def _istiod(ns, image):
    """istiod: its ServiceAccount, Deployment and Service, the sidecar injector (by namespace label, and by
    the Pod label sidecar.istio.io/inject that gateway Pods carry) and the config validation webhook."""
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
    return [_service_account("istiod", ns),
            _deployment("istiod", ns, pilot, image, port=15017, args=("discovery", "--monitoringAddr=:15014")),
            _service("istiod", ns, pilot, 443, 15017, ports=[
                {"name": "grpc-xds", "port": 15010, "targetPort": 15010},
                {"name": "https-dns", "port": 15012, "targetPort": 15012},
                {"name": "https-webhook", "port": 443, "targetPort": 15017}]),
            injector, validator]


def net_istio(versions):
    """net-istio's two release files: the Istio it is tested with (istio.yaml, CRDs, istiod and the
    ingress gateway) and Knative's Istio networking layer (net-istio.yaml). The lab's istio.yaml
    installs the Istio that versions.yml pins; upstream's installs the one net-istio was released with."""
    ns, istio = "istio-system", versions["istio"]
    gateway = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    gateway_deployment = _deployment("istio-ingressgateway", ns, gateway, "docker.io/istio/proxyv2:%s" % istio,
                                     args=("proxy", "router"))
    gateway_deployment["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-service-account"
    istio_docs = ([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}] + _istio_crds()
                  + _istiod(ns, "docker.io/istio/pilot:%s" % istio)
                  + [_service_account("istio-ingressgateway-service-account", ns), gateway_deployment,
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
    for name in ("net-istio-controller", "net-istio-webhook"):
        app = dict(labels, app=name)
        layer.append(_service_account(name, kns))
        layer.append(_deployment(name, kns, app, "gcr.io/knative-releases/knative.dev/net-istio/cmd/%s:v%s" % (
            name.rsplit("-", maxsplit=1)[-1], versions["net_istio"]), port=8443 if name == "net-istio-webhook" else None))
    layer.append(_service("net-istio-webhook", kns, dict(labels, app="net-istio-webhook"), 443, 8443))
    layer.append(_webhook("ValidatingWebhookConfiguration", "config.webhook.istio.networking.internal.knative.dev",
                          "config.webhook.istio.networking.internal.knative.dev", "net-istio-webhook", kns,
                          "/config-validation", [{"apiGroups": [""], "apiVersions": ["v1"],
                                                  "operations": ["CREATE", "UPDATE"], "resources": ["configmaps/*"]}]))
    layer[-1]["webhooks"][0]["objectSelector"] = {"matchLabels": {"networking.knative.dev/ingress-provider": "istio"}}
    base = "knative-extensions/net-istio/releases/download/knative-v%s/" % versions["net_istio"]
    return {base + "istio.yaml": istio_docs, base + "net-istio.yaml": layer}


# Istio's Helm charts live in the istio-release bucket (istio-release.storage.googleapis.com/charts is
# storage.googleapis.com/istio-release/charts), so a mirror keeps them under this path.
ISTIO_CHARTS = "istio-release/charts"
# Helm template placeholders, put in after the YAML is written (yaml would quote the braces).
_TEMPLATE = {"__NAMESPACE__": "{{ .Release.Namespace }}", "__RELEASE__": "{{ .Release.Name }}",
             "__GATEWAY_LABEL__": '{{ .Release.Name | trimPrefix "istio-" }}',
             "__SERVICE_TYPE__": "{{ .Values.service.type }}",
             "__PILOT_IMAGE__": "{{ .Values.hub }}/pilot:{{ .Values.tag | default .Chart.AppVersion }}"}


class _NoAliases(yaml.SafeDumper):
    """Charts spell shared label maps out in full, as their templates do."""

    def ignore_aliases(self, data):
        return True


def _template(docs, condition=None):
    text = yaml.dump_all(docs, Dumper=_NoAliases, sort_keys=False)
    for placeholder, expression in _TEMPLATE.items():
        text = text.replace(placeholder, expression)
    return "{{- if %s }}\n%s{{- end }}\n" % (condition, text) if condition else text


def _chart_archive(name, version, description, values, templates):
    """A packaged chart as `helm package` lays it out: NAME/Chart.yaml, values.yaml, templates/."""
    chart = {"apiVersion": "v2", "name": name, "version": version, "appVersion": version,
             "description": description, "type": "application", "home": "https://istio.io"}
    files = {"Chart.yaml": yaml.safe_dump(chart, sort_keys=False),
             "values.yaml": "# Lab stand-in, written by scripts/kserve_lab/releases.py.\n"
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
    `istio-ingressgateway istio/gateway` use them, with the repository's index.yaml. The CRDs and istiod
    are those of net-istio's stand-in; the gateway's Pod asks istiod's injector for its proxy
    (image "auto"), so it cannot be created before istiod serves."""
    ns = "__NAMESPACE__"
    gateway_labels = {"app": "__RELEASE__", "istio": "__GATEWAY_LABEL__"}
    gateway = _deployment("__RELEASE__", ns, gateway_labels, "auto", args=("proxy", "router"))
    gateway["spec"]["template"]["metadata"] = {"labels": dict(gateway_labels, **{"sidecar.istio.io/inject": "true"}),
                                               "annotations": {"inject.istio.io/templates": "gateway"}}
    gateway["spec"]["template"]["spec"]["containers"][0]["name"] = "istio-proxy"
    gateway_docs = [_service_account("__RELEASE__", ns), gateway,
                    _service("__RELEASE__", ns, gateway_labels, 80, 80, kind="__SERVICE_TYPE__", ports=[
                        {"name": "status-port", "port": 15021, "targetPort": 15021},
                        {"name": "http2", "port": 80, "targetPort": 80},
                        {"name": "https", "port": 443, "targetPort": 443}])]
    charts = {
        "base": ("Helm chart for deploying Istio cluster resources and CRDs",
                 {"defaultRevision": "default", "base": {"enableCRDTemplates": True}},
                 {"crds.yaml": _template(_istio_crds(), ".Values.base.enableCRDTemplates")}),
        "istiod": ("Helm chart for istio control plane", {"hub": "docker.io/istio", "tag": ""},
                   {"istiod.yaml": _template(_istiod(ns, "__PILOT_IMAGE__"))}),
        "gateway": ("Helm chart for deploying Istio gateways", {"service": {"type": "LoadBalancer"}},
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


def kserve(version):
    """KServe's two release files: kserve.yaml (CRDs, controller, webhooks, its serving certificate from
    cert-manager, inferenceservice-config) and kserve-cluster-resources.yaml (cluster serving runtimes)."""
    ns = "kserve"
    group = "serving.kserve.io"
    crds = [_crd(group, "InferenceService", "inferenceservices", short=("isvc",), version="v1beta1")]
    crds[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = _isvc_spec_schema()
    crds += [_crd(group, kind, plural, scope=scope, short=short, version="v1alpha1")
             for kind, plural, scope, short in (
                 ("ServingRuntime", "servingruntimes", "Namespaced", ()),
                 ("ClusterServingRuntime", "clusterservingruntimes", "Cluster", ()),
                 ("TrainedModel", "trainedmodels", "Namespaced", ("tm",)),
                 ("InferenceGraph", "inferencegraphs", "Namespaced", ("ig",)),
                 ("ClusterStorageContainer", "clusterstoragecontainers", "Cluster", ()),
                 ("LocalModelCache", "localmodelcaches", "Cluster", ()))]
    labels = {"control-plane": "kserve-controller-manager", "controller-tools.k8s.io": "1.0"}
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
        "control-plane": "kserve-controller-manager"}}}] + crds
    docs.append(_service_account("kserve-controller-manager", ns))
    controller = _deployment("kserve-controller-manager", ns, labels, "kserve/kserve-controller:v%s" % version,
                             port=9443, secret_volume="kserve-webhook-server-cert",
                             args=("--metrics-addr=127.0.0.1:8080", "--leader-elect"))
    controller["spec"]["template"]["spec"]["containers"][0]["name"] = "manager"
    docs.append(controller)
    docs.append(_service("kserve-webhook-server-service", ns, labels, 443, 9443))
    docs.append({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                 "metadata": {"name": "selfsigned-issuer", "namespace": ns}, "spec": {"selfSigned": {}}})
    docs.append({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                 "metadata": {"name": "serving-cert", "namespace": ns},
                 "spec": {"commonName": "kserve-webhook-server-service.kserve.svc",
                          "dnsNames": ["kserve-webhook-server-service.kserve.svc"],
                          "issuerRef": {"kind": "Issuer", "name": "selfsigned-issuer"},
                          "secretName": "kserve-webhook-server-cert"}})
    config = {
        "deploy": {"defaultDeploymentMode": "Knative"},
        "ingress": {"ingressGateway": "knative-serving/knative-ingress-gateway",
                    "knativeLocalGatewayService": "knative-local-gateway.istio-system.svc.cluster.local",
                    "localGateway": "knative-serving/knative-local-gateway",
                    "localGatewayService": "knative-local-gateway.istio-system.svc.cluster.local",
                    "ingressDomain": "example.com", "ingressClassName": "istio",
                    "domainTemplate": "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}",
                    "urlScheme": "http", "disableIstioVirtualHost": False, "disableIngressCreation": False},
        "storageInitializer": {"image": "kserve/storage-initializer:v%s" % version, "memoryRequest": "100Mi",
                               "memoryLimit": "1Gi", "cpuRequest": "100m", "cpuLimit": "1"},
        "credentials": {"gcs": {"gcsCredentialFileName": "gcloud-application-credentials.json"}},
        "explainers": {}, "logger": {"image": "kserve/agent:v%s" % version}}
    docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inferenceservice-config",
                                                                       "namespace": ns},
                 "data": {key: json.dumps(value, indent=4) for key, value in config.items()}})
    hooks = (("inferenceservice", "inferenceservices", "v1beta1"), ("servingruntime", "servingruntimes", "v1alpha1"),
             ("clusterservingruntime", "clusterservingruntimes", "v1alpha1"),
             ("trainedmodel", "trainedmodels", "v1alpha1"), ("inferencegraph", "inferencegraphs", "v1alpha1"))
    for name, plural, api in hooks:
        docs.append(_webhook("ValidatingWebhookConfiguration", "%s.%s" % (name, group),
                             "%s.kserve-webhook-server.validator" % name, "kserve-webhook-server-service", ns,
                             "/validate-serving-kserve-io-%s-%s" % (api, name),
                             [{"apiGroups": [group], "apiVersions": [api], "operations": ["CREATE", "UPDATE"],
                               "resources": [plural]}]))
    docs.append(_webhook("MutatingWebhookConfiguration", "inferenceservice.%s" % group,
                         "inferenceservice.kserve-webhook-server.defaulter", "kserve-webhook-server-service", ns,
                         "/mutate-serving-kserve-io-v1beta1-inferenceservice",
                         [{"apiGroups": [group], "apiVersions": ["v1beta1"], "operations": ["CREATE", "UPDATE"],
                           "resources": ["inferenceservices"]}]))

    def runtime(name, formats, image, protocols=("v1",), args=()):
        return {"apiVersion": "%s/v1alpha1" % group, "kind": "ClusterServingRuntime", "metadata": {"name": name},
                "spec": {"annotations": {"prometheus.kserve.io/port": "8080", "prometheus.kserve.io/path": "/metrics"},
                         "supportedModelFormats": [dict(f, autoSelect=True) for f in formats],
                         "protocolVersions": list(protocols),
                         "containers": [{"name": "kserve-container", "image": image, "args": list(args),
                                         "resources": {"requests": {"cpu": "1", "memory": "2Gi"},
                                                       "limits": {"cpu": "1", "memory": "2Gi"}}}]}}
    cluster = [
        runtime("kserve-tensorflow-serving", [{"name": "tensorflow", "version": "1", "priority": 2},
                                              {"name": "tensorflow", "version": "2", "priority": 2}],
                "tensorflow/serving:2.6.2", ("v1", "grpc-v1"),
                ("--model_name={{.Name}}", "--port=9000", "--rest_api_port=8080", "--model_base_path=/mnt/models",
                 "--rest_api_timeout_in_ms=60000")),
        runtime("kserve-sklearnserver", [{"name": "sklearn", "version": "1", "priority": 1}],
                "kserve/sklearnserver:v%s" % version, ("v1", "v2")),
        runtime("kserve-huggingfaceserver", [{"name": "huggingface", "version": "1", "priority": 1}],
                "kserve/huggingfaceserver:v%s" % version, ("v1", "v2")),
        {"apiVersion": "%s/v1alpha1" % group, "kind": "ClusterStorageContainer", "metadata": {"name": "default"},
         "spec": {"container": {"name": "storage-initializer", "image": "kserve/storage-initializer:v%s" % version},
                  "supportedUriFormats": [{"prefix": "gs://"}, {"prefix": "s3://"}, {"prefix": "hdfs://"},
                                          {"prefix": "webhdfs://"}, {"regex": "https://(.+?).blob.core.windows.net/(.+)"},
                                          {"prefix": "http://"}, {"prefix": "https://"}]}}]
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
RELEASES = {"cert_manager": cert_manager, "knative": knative_serving, "kserve": kserve, "istio": istio_charts}
# release files that depend on more than one pinned version
COMBINED = ((("net_istio", "istio"), net_istio),)
# files that are not versioned releases (raw.githubusercontent.com paths, under raw/)
UNVERSIONED = (nvidia_driver_installer,)


def write_mirror(directory, versions):
    """Write the stand-in release files (and Istio's charts) for these versions, and the unversioned ones;
    return their paths."""
    files = {}
    for component, make in RELEASES.items():
        if component in versions:
            files.update(make(versions[component]))
    for needs, make in COMBINED:
        if all(name in versions for name in needs):
            files.update(make(versions))
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
