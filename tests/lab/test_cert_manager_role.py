# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cert_manager role against a lab cluster and the lab's release mirror."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import recap

from kserve_lab.iam import LAB_ACCOUNT  # pylint: disable=wrong-import-order

PATH = "cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml"
CERTIFICATE = """
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: selfsigned, namespace: default}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: serving-cert, namespace: default}
spec:
  secretName: serving-cert
  dnsNames: [webhook.default.svc]
  issuerRef: {name: selfsigned, kind: Issuer}
"""


@pytest.fixture(scope="module")
def cluster(lab):
    return lab.converged("gke_cluster")


def test_check_mode_on_a_bare_cluster_writes_nothing(cluster):
    proc = cluster.assert_check_mode_writes_nothing("cert_manager")
    assert int(recap(proc)["changed"]) > 0


def test_a_google_account_without_an_iam_role_is_told_which_role_to_grant(cluster, tmp_path):
    """The run as a service account (gcloud's impersonation, as AWX jobs often run): GKE's IAM refuses it, and
    the role's message names the account, the permission and the command that grants it."""
    gcloud_env = {"CLOUDSDK_CONFIG": str(tmp_path / "gcloud")}
    account = "deployer@kserve-lab.iam.gserviceaccount.com"
    for command in (["services", "enable", "iamcredentials.googleapis.com"],
                    ["iam", "service-accounts", "create", "deployer"],
                    # a project owner may not mint a service account's tokens until granted this (as on Google Cloud)
                    ["iam", "service-accounts", "add-iam-policy-binding", account, "--member",
                     "user:" + LAB_ACCOUNT, "--role", "roles/iam.serviceAccountTokenCreator"]):
        done = subprocess.run(["gcloud"] + command, capture_output=True, text=True, check=False,
                              env=cluster.client_env(**gcloud_env))
        assert done.returncode == 0, done.stderr
    config = str(tmp_path / "exec.kubeconfig")
    written = cluster.play("gke_cluster", "-e", "gke_cluster_kubeconfig_auth=exec", "-e",
                           "kserve_gke_kubeconfig=" + config)
    assert written.returncode == 0, written.stdout[-3000:]
    impersonated = dict(gcloud_env, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT=account)
    # the gke_cluster role's first read through the context: the API server's words and the fix, no traceback
    verified = cluster.play("gke_cluster", "-e", "gke_cluster_kubeconfig_auth=exec", "-e",
                            "kserve_gke_kubeconfig=" + config, env=impersonated)
    assert verified.returncode != 0
    # (the read's own failure, the client's exception, is printed before the rescue that explains it)
    said = " ".join(verified.stdout.split("GKE | Stop with what the Kubernetes API answered, and the fix")[-1].split())
    assert ('namespaces "kube-system" is forbidden: User "%s" cannot get resource "namespaces"' % account) in said
    assert "Fix: the Google account %s lacks container.namespaces.get" % account in said
    assert "Original traceback" not in said and "HTTPHeaderDict" not in said
    before = len(cluster.requests())
    proc = cluster.play("cert_manager", "-e", "kserve_gke_kubeconfig=" + config, env=impersonated)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert 'is forbidden: User "%s" cannot' % account in out
    assert "Fix: the Google account %s lacks container." % account in out
    assert "--member=serviceAccount:%s --role=roles/container.admin" % account in out
    assert cluster.writes(before, "k8s") == []


def test_a_kubernetes_identity_without_rbac_is_told_to_bind_it(cluster, tmp_path):
    """An in-cluster runner's service account (AWX's), which IAM has no opinion on: RBAC's refusal and its fix."""
    cluster.kubectl("-n", "default", "create", "serviceaccount", "runner")
    token = cluster.kubectl("-n", "default", "create", "token", "runner").strip()
    path = cluster.kubeconfig_with_token(token, tmp_path / "runner.kubeconfig")
    proc = cluster.play("cert_manager", "-e", "kserve_gke_kubeconfig=" + path)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "Fix: system:serviceaccount:default:runner may not" in out and "in this cluster (RBAC)" in out


def test_a_pinned_sha256_that_differs_stops_before_any_apply(cluster):
    before = len(cluster.requests())
    proc = cluster.play("cert_manager", "-e", json.dumps({"kserve_gke_checksums": {PATH: "0" * 64}}))
    assert proc.returncode != 0
    assert "but %s is pinned" % ("0" * 64) in proc.stdout
    assert cluster.writes(before) == []


SQUATTER = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certs.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {kind: Certificate, listKind: CertificateList, plural: certs, singular: cert}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


def test_a_crd_that_never_becomes_established_is_named_with_why(cluster):
    """Known failure 2 for good: another CRD holds the kind, so certificates.cert-manager.io is never
    Established; the role stops when its wait runs out, naming the CRD and the API server's reason."""
    assert cluster.kubectl_apply(SQUATTER).returncode == 0
    cluster.kubectl("wait", "--for=condition=Established", "crd/certs.cert-manager.io", "--timeout=30s")
    proc = cluster.play("cert_manager", "-e", "cert_manager_wait_timeout=3")
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "cert-manager 1.21.2 is not ready after 3 s" in out, out[-3000:]
    assert "CRD certificates.cert-manager.io is not Established:" in out and "is already in use" in out
    assert "another CRD of the same group already uses one of its names" in out
    cluster.kubectl("delete", "crd", "certs.cert-manager.io")  # the API server then accepts the other one
    cluster.kubectl("wait", "--for=condition=Established", "crd/certificates.cert-manager.io", "--timeout=30s")


def test_install_proves_the_webhook_then_a_second_run_writes_nothing(cluster):
    before = len(cluster.requests())
    proc = cluster.play("cert_manager")
    assert proc.returncode == 0, proc.stdout[-3000:]
    proofs = [r for r in cluster.requests()[before:]
              if r["path"].endswith("/namespaces/default/issuers/kserve-gke-readiness-probe")]
    assert proofs and all(r.get("dryRun") for r in proofs), proofs  # sent through the webhook, never written
    assert proofs[-1]["status"] in (200, 201)
    cluster.assert_rerun_changes_nothing("cert_manager")
    proc = cluster.kubectl_apply(CERTIFICATE)
    assert proc.returncode == 0, proc.stderr
    wait = cluster.kubectl("wait", "--for=condition=Ready", "certificate/serving-cert", "--timeout=30s")
    assert "condition met" in wait
    secret = json.loads(cluster.kubectl("get", "secret/serving-cert", "-o", "json"))
    assert secret["type"] == "kubernetes.io/tls" and "tls.crt" in secret["data"]


def test_the_role_runs_without_the_validation_play(cluster):
    """Versions and checksums come from the collection's pins on their own (lookup mlops.kserve_gke.pinned), so a
    partial run that skips the validation play still knows what to install."""
    cluster.assert_rerun_changes_nothing("cert_manager", "--skip-tags", "always")


def test_local_directory_mode_reads_the_mirror_layout(cluster):
    before = len(cluster.requests())
    proc = cluster.play("cert_manager", "-e", "kserve_gke_release_dir=%s" % os.path.join(cluster.directory, "mirror"),
                        "-e", "kserve_gke_release_base=http://127.0.0.1:9")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not [r for r in cluster.requests()[before:] if r["service"] == "mirror"]


def test_pods_that_cannot_run_end_in_a_message_that_says_why(cluster):
    cluster.kubectl("-n", "cert-manager", "delete", "deployment/cert-manager-webhook")
    proc = cluster.play("gke_cluster", "-e", "gke_cluster_system_node_count=0")
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc = cluster.play("cert_manager", "-e", "cert_manager_wait_timeout=3")
    assert proc.returncode != 0
    assert "cert-manager 1.21.2 is not ready" in proc.stdout
    assert "untolerated taint" in proc.stdout and "cert-manager-webhook" in proc.stdout
    cluster.play("gke_cluster", "-e", "gke_cluster_system_node_count=1")
