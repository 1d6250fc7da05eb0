# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert-manager's controller for a lab cluster on a real control plane, as a client of its API.

While a Pod of the cert-manager Deployment (namespace cert-manager) is ready: Issuers and ClusterIssuers become
Ready; a Certificate whose issuer is Ready gets its Secret (kubernetes.io/tls: tls.crt for its dnsNames, tls.key,
ca.crt, with cert-manager's annotations) and turns Ready with notAfter and revision; one whose issuer is missing or
not Ready says so (IssuerNotFound / IssuerNotReady). Without a running controller nothing moves, as on GKE. The
issuer kinds themselves (CA, self-signed, ACME) are not told apart: every issuer signs with a CA of its own here.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization

from .pki import key_pem, make_ca, make_dns_cert
from .watching import Reconciler, timestamp

GROUP, VERSION = "cert-manager.io", "v1"
NAMESPACE, CONTROLLER = "cert-manager", "cert-manager"


def condition(obj):
    """(status, reason) of an object's Ready condition, or None."""
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == "Ready":
            return item.get("status"), item.get("reason")
    return None


def ready_condition(obj, status, reason, message):
    return {"type": "Ready", "status": status, "reason": reason, "message": message,
            "lastTransitionTime": timestamp(), "observedGeneration": obj["metadata"].get("generation", 1)}


def certificate_state(cert, issuers):
    """(status, reason, message) a Certificate's Ready condition should say, given {(kind, namespace, name): issuer}
    (namespace None for ClusterIssuers); ('True', 'Ready', ...) means: issue it."""
    ref = (cert.get("spec") or {}).get("issuerRef") or {}
    kind = ref.get("kind", "Issuer")
    issuer = issuers.get((kind, None if kind == "ClusterIssuer" else cert["metadata"]["namespace"], ref.get("name")))
    if issuer is None:
        return "False", "IssuerNotFound", 'Issuer "%s" not found' % ref.get("name")
    if condition(issuer) != ("True", "IsReady"):
        return "False", "IssuerNotReady", 'Issuer "%s" not ready' % ref.get("name")
    return "True", "Ready", "Certificate is up to date and has not expired"


def tls_secret(cert):
    """The Secret cert-manager writes for a Certificate."""
    spec = cert["spec"]
    names = list(spec.get("dnsNames") or []) or [spec.get("commonName") or cert["metadata"]["name"]]
    ca_cert, ca_key = make_ca("%s CA" % names[0])
    leaf, key = make_dns_cert(ca_cert, ca_key, names)
    pem = serialization.Encoding.PEM
    ref = spec.get("issuerRef") or {}
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": spec["secretName"], "namespace": cert["metadata"]["namespace"], "annotations": {
                "cert-manager.io/certificate-name": cert["metadata"]["name"],
                "cert-manager.io/issuer-name": ref.get("name", ""),
                "cert-manager.io/issuer-kind": ref.get("kind", "Issuer")}},
            "data": {"tls.crt": base64.b64encode(leaf.public_bytes(pem)).decode(),
                     "tls.key": base64.b64encode(key_pem(key)).decode(),
                     "ca.crt": base64.b64encode(ca_cert.public_bytes(pem)).decode()}}


class CertManager(Reconciler):
    def watched(self):
        from kubernetes.client import AppsV1Api, CustomObjectsApi
        custom = CustomObjectsApi(self.api)
        return [(AppsV1Api(self.api).list_namespaced_deployment, (NAMESPACE,))] + [
            (custom.list_cluster_custom_object, (GROUP, VERSION, plural))
            for plural in ("issuers", "clusterissuers", "certificates")]

    def _set_ready(self, plural, obj, status, reason, message, **extra):
        if condition(obj) == (status, reason):
            return
        from kubernetes.client import CustomObjectsApi
        custom = CustomObjectsApi(self.api)
        body = {"status": dict(extra, conditions=[ready_condition(obj, status, reason, message)])}
        namespace = obj["metadata"].get("namespace")
        if namespace:
            custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, plural, obj["metadata"]["name"],
                                                         body)
        else:
            custom.patch_cluster_custom_object_status(GROUP, VERSION, plural, obj["metadata"]["name"], body)

    def reconcile(self):
        if not self.deployment_ready(NAMESPACE, CONTROLLER):
            return
        issuers = {}
        for plural, kind in (("issuers", "Issuer"), ("clusterissuers", "ClusterIssuer")):
            for obj in self.custom_list(GROUP, VERSION, plural):
                self._set_ready(plural, obj, "True", "IsReady", "")
                issuers[(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])] = dict(
                    obj, status={"conditions": [{"type": "Ready", "status": "True", "reason": "IsReady"}]})
        for cert in self.custom_list(GROUP, VERSION, "certificates"):
            status, reason, message = certificate_state(cert, issuers)
            if status != "True":
                self._set_ready("certificates", cert, status, reason, message)
                continue
            self._issue(cert)
            self._set_ready("certificates", cert, status, reason, message, notAfter=timestamp(days=90), revision=1)

    def _issue(self, cert):
        from kubernetes.client import CoreV1Api
        from kubernetes.client.exceptions import ApiException
        core = CoreV1Api(self.api)
        try:
            core.read_namespaced_secret(cert["spec"]["secretName"], cert["metadata"]["namespace"],
                                        _preload_content=False)
            return
        except ApiException as exc:
            if exc.status != 404:
                raise
        core.create_namespaced_secret(cert["metadata"]["namespace"], tls_secret(cert), field_manager="cert-manager")
