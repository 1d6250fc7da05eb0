# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The webhook servers of the components a lab cluster runs, as a real kube-apiserver calls them.

Istio, Knative, cert-manager and KServe register admission webhooks (and Knative and KServe CRD conversion
webhooks) behind Services of their own, and each makes its serving certificate and writes its CA into the
registrations once it runs: istiod patches its webhook configurations, Knative's webhook its own and its CRDs',
cert-manager's cainjector those annotated for it. The lab does the same for every registration that names a
Service: once a Pod behind that Service is ready, a TLS server with a certificate for
`<service>.<namespace>.svc` (from a CA of its own) answers on loopback, the cluster network (network.py) passes
kube-apiserver's calls to it, and the CA goes into the registration's caBundle. Until then kube-apiserver's calls
fail as on GKE: refused while the Service has no ready endpoints, x509 while the caBundle is not the server's.

What the lab's servers answer: KServe's validation of InferenceServices and llmisvc's refusal to delete its
well-known configs, in their words (denial()); every other admission request allowed, unchanged (Istio's sidecar
injection, Knative's defaulting and cert-manager's checks are not run); a conversion request converted by rewriting
apiVersion.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization

from . import serving
from .pki import key_pem, make_ca, make_service_cert, serve_tls, write_private
from .releases import LLM_CONFIGS
from .watching import Reconciler


def registrations(configs, crds):
    """[(kind, name, index, webhook name, namespace, service, port, caBundle)] of every webhook registration that
    names a Service: `configs` {kind: [MutatingWebhookConfiguration or Validating... dicts]}, `crds` CRD dicts
    (index None: the CRD's conversion webhook)."""
    found = []
    for kind, items in sorted(configs.items()):
        for obj in items:
            for index, hook in enumerate(obj.get("webhooks") or []):
                service = (hook.get("clientConfig") or {}).get("service")
                if service:
                    found.append((kind, obj["metadata"]["name"], index, hook["name"], service["namespace"],
                                  service["name"], int(service.get("port") or 443),
                                  hook["clientConfig"].get("caBundle", "")))
    for crd in crds:
        webhook = (((crd.get("spec") or {}).get("conversion") or {}).get("webhook") or {})
        service = (webhook.get("clientConfig") or {}).get("service")
        if ((crd.get("spec") or {}).get("conversion") or {}).get("strategy") == "Webhook" and service:
            found.append(("CustomResourceDefinition", crd["metadata"]["name"], None, None, service["namespace"],
                          service["name"], int(service.get("port") or 443),
                          webhook["clientConfig"].get("caBundle", "")))
    return found


def denial(request, env_of, path="/validate"):
    """Why a component's webhook refuses an admission request, in its words, or None. `env_of(namespace,
    deployment)` gives a Deployment's container environment; `path` is the one the registration names: only
    validators (`/validate-...`, as KServe's paths go) refuse, defaulters (`/mutate-...`) admit. kube-apiserver adds
    'admission webhook "<name>" denied the request: ' itself.
    - KServe's InferenceService validator (serving.webhook_errors), on a create or a change of spec;
    - llmisvc's LLMInferenceServiceConfigValidator.ValidateDelete at v0.20.0: the well-known configs in kserve
      cannot be deleted unless llmisvc-controller-manager sets PREVENT_WELL_KNOWN_CONFIG_DELETION=false."""
    resource = request.get("resource") or {}
    group, plural, operation = resource.get("group"), resource.get("resource"), request.get("operation")
    if group != serving.GROUP or not path.startswith("/validate"):
        return None
    if plural == "inferenceservices" and operation in ("CREATE", "UPDATE"):
        old, new = request.get("oldObject"), request.get("object") or {}
        if old is None or old.get("spec") != new.get("spec"):
            return "; ".join(serving.webhook_errors(new)) or None
    if plural == "llminferenceserviceconfigs" and operation == "DELETE":
        namespace, name = request.get("namespace"), request.get("name")
        if namespace == "kserve" and name in LLM_CONFIGS and str(env_of("kserve", "llmisvc-controller-manager").get(
                "PREVENT_WELL_KNOWN_CONFIG_DELETION", "true")).lower() != "false":
            return "well-known config %s/%s cannot be deleted" % (namespace, name)
    return None


def answer(review, env_of, path="/validate"):
    """The lab's answer to an AdmissionReview sent to `path` (allowed unless denial() says why not) or a
    ConversionReview (apiVersion rewritten)."""
    request = review.get("request") or {}
    if review.get("kind") == "ConversionReview":
        converted = [dict(obj, apiVersion=request.get("desiredAPIVersion")) for obj in request.get("objects") or []]
        return {"apiVersion": review.get("apiVersion"), "kind": "ConversionReview",
                "response": {"uid": request.get("uid"), "convertedObjects": converted,
                             "result": {"status": "Success"}}}
    refused = denial(request, env_of, path)
    response = {"uid": request.get("uid"), "allowed": refused is None}
    if refused:
        response["status"] = {"code": 403, "reason": "Forbidden", "message": refused}
    return {"apiVersion": review.get("apiVersion", "admission.k8s.io/v1"), "kind": "AdmissionReview",
            "response": response}


class HookHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Calls come from kube-apiserver; the user's request is logged at the front."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.dumps(answer(json.loads(self.rfile.read(length) or b"{}"), self.server.env_of,
                                     self.path.split("?")[0])).encode()
            status = 200
        except ValueError:
            data, status = b'{"message": "not a review"}', 400
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class HookServer(ThreadingHTTPServer):
    """One Service's webhook server on 127.0.0.1, with a CA and certificate of its own (in `folder`, kept across lab
    restarts as a component keeps its serving certificate in a Secret, so the injected CA stays valid)."""

    daemon_threads = True

    def __init__(self, folder, namespace, service, env_of):
        super().__init__(("127.0.0.1", 0), HookHandler)
        self.env_of = env_of
        base = os.path.join(folder, "webhook-%s-%s" % (namespace, service))
        if not all(os.path.exists(base + suffix) for suffix in (".pem", ".key", "-ca.pem")):
            ca_cert, ca_key = make_ca("%s.%s webhook CA" % (service, namespace))
            cert, key = make_service_cert(ca_cert, ca_key, namespace, service)
            with open(base + "-ca.pem", "wb") as handle:
                handle.write(ca_cert.public_bytes(serialization.Encoding.PEM))
            with open(base + ".pem", "wb") as handle:
                handle.write(cert.public_bytes(serialization.Encoding.PEM))
            write_private(base + ".key", key_pem(key))
        with open(base + "-ca.pem", "rb") as handle:
            self.ca_pem = handle.read()
        serve_tls(self, base + ".pem", base + ".key")
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Webhooks(Reconciler):
    """Keeps every registered webhook Service served and its CA injected, for one cluster; reconciles on each
    change kube-apiserver reports about webhook registrations, CRDs and EndpointSlices (watches)."""

    def __init__(self, api, network, folder, stopping):
        super().__init__(api, stopping)
        self.network, self.folder = network, folder
        self.servers = {}  # (namespace, service) -> HookServer
        self.lock = threading.Lock()  # reconcile runs on its loop, and on demand for the network (ensure)
        # registrations(), read again only after a registration or CRD changed: EndpointSlices change far more
        # often, and the CRDs (full schemas) are the largest list in the cluster.
        self.found, self.stale = [], True

    def changed(self, index):
        if index < 3:  # a webhook registration or a CRD (the order of watched())
            self.stale = True

    def watched(self):
        from kubernetes.client import AdmissionregistrationV1Api, ApiextensionsV1Api, DiscoveryV1Api
        admission, extensions = AdmissionregistrationV1Api(self.api), ApiextensionsV1Api(self.api)
        return [(admission.list_mutating_webhook_configuration, ()),
                (admission.list_validating_webhook_configuration, ()),
                (extensions.list_custom_resource_definition, ()),
                (DiscoveryV1Api(self.api).list_endpoint_slice_for_all_namespaces, ())]

    def env_of(self, namespace, deployment):
        """{name: value} of a Deployment's containers' environment ({} when it does not exist)."""
        from kubernetes.client import AppsV1Api
        from kubernetes.client.exceptions import ApiException
        try:
            deploy = json.loads(AppsV1Api(self.api).read_namespaced_deployment(
                deployment, namespace, _preload_content=False).data)
        except ApiException:
            return {}
        return {e.get("name"): e.get("value") for c in deploy["spec"]["template"]["spec"].get("containers") or []
                for e in c.get("env") or []}

    def stop(self):
        for server in self.servers.values():
            server.shutdown()
            server.server_close()

    def _list(self, call):
        return json.loads(call(_preload_content=False).data)["items"]

    def reconcile(self):
        with self.lock:
            self._reconcile()

    def ensure(self):
        """Serve what is due now: the network asks when a call reaches a webhook Service with ready endpoints
        before this reconciler's watch has told it (a component's server answers once its Pod is ready)."""
        self.reconcile()

    def _reconcile(self):
        from kubernetes.client import AdmissionregistrationV1Api, ApiextensionsV1Api
        admission, extensions = AdmissionregistrationV1Api(self.api), ApiextensionsV1Api(self.api)
        if self.stale:
            self.stale = False  # before listing: a change during the lists marks it again
            try:
                configs = {"MutatingWebhookConfiguration": self._list(admission.list_mutating_webhook_configuration),
                           "ValidatingWebhookConfiguration": self._list(
                               admission.list_validating_webhook_configuration)}
                self.found = registrations(configs, self._list(extensions.list_custom_resource_definition))
            except Exception:
                self.stale = True
                raise
        for kind, name, index, hook, namespace, service, port, bundle in self.found:
            if not self.network.ready_endpoints(namespace, service):
                continue  # the component is not running yet: nothing answers, and it has injected nothing
            server = self.servers.get((namespace, service))
            if server is None:
                server = self.servers[(namespace, service)] = HookServer(self.folder, namespace, service, self.env_of)
            self.network.serve(namespace, service, port, server.server_address[:2])
            wanted = base64.b64encode(server.ca_pem).decode()
            if bundle == wanted:
                continue
            if kind == "CustomResourceDefinition":
                extensions.patch_custom_resource_definition(name, [
                    {"op": "add", "path": "/spec/conversion/webhook/clientConfig/caBundle", "value": wanted}])
                continue
            patch = [{"op": "test", "path": "/webhooks/%d/name" % index, "value": hook},
                     {"op": "add", "path": "/webhooks/%d/clientConfig/caBundle" % index, "value": wanted}]
            if kind == "MutatingWebhookConfiguration":
                admission.patch_mutating_webhook_configuration(name, patch)
            else:
                admission.patch_validating_webhook_configuration(name, patch)
