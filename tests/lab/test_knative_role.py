# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The knative role on a lab cluster: Serving installed from the mirror, its
configuration written only once its webhook serves, nothing written twice.
(With Istio and the sslip.io domain: test_istio_role.py.)"""
from __future__ import annotations

import json

import pytest

DOMAIN = ("-e", "knative_domain_mode=custom", "-e", "knative_domain=models.example.com")


@pytest.fixture(scope="module")
def cluster(lab):
    return lab.converged("gke_cluster,istio")


def test_a_custom_domain_mode_without_a_domain_is_refused_before_any_request(cluster):
    before = len(cluster.requests())
    proc = cluster.play("knative", "-e", "knative_domain_mode=custom")
    assert proc.returncode != 0 and "knative_domain is empty" in proc.stdout
    assert [r for r in cluster.requests()[before:] if r["service"] == "k8s"] == []


def test_check_mode_writes_nothing(cluster):
    cluster.assert_check_mode_writes_nothing("knative", *DOMAIN)


def test_install_configures_gpu_scheduling_and_the_domain_then_writes_nothing(cluster):
    proc = cluster.play("knative", *DOMAIN)
    assert proc.returncode == 0, proc.stdout[-3000:]
    features = json.loads(cluster.kubectl("-n", "knative-serving", "get", "configmap/config-features", "-o",
                                          "json"))["data"]
    assert features["kubernetes.podspec-nodeselector"] == "enabled"
    assert features["kubernetes.podspec-tolerations"] == "enabled"
    assert "_example" in features  # the manifest's keys stay: the configuration has a field manager of its own
    domain = json.loads(cluster.kubectl("-n", "knative-serving", "get", "configmap/config-domain", "-o", "json"))
    assert domain["data"]["models.example.com"] == ""
    cluster.assert_rerun_changes_nothing("knative", *DOMAIN)


def test_sslip_without_an_ingress_address_names_the_known_failure(cluster):
    proc = cluster.play("knative", "-e", "knative_domain_mode=sslip", "-e", "knative_ingress_service=no-such-gateway")
    assert proc.returncode != 0
    assert "no external address yet (known failure 3)" in proc.stdout and "run the istio role first" in proc.stdout


def test_below_knatives_kubernetes_minimum_the_failure_quotes_the_version_check(cluster):
    """Validation skipped, Knative 1.22 on an EXTENDED-channel 1.33 cluster: its binaries exit with "Version check
    failed" (knative.dev/pkg release-1.22), and the wait ends naming that log line and the fix."""
    old = ("-e", "kserve_gke_cluster_name=old", "--skip-tags", "always")
    made = cluster.play("gke_cluster", *old, "-e", "gke_cluster_release_channel=EXTENDED",
                        "-e", "gke_cluster_version=1.33")
    assert made.returncode == 0, made.stdout[-3000:]
    proc = cluster.play("knative", *old, "-e", "knative_networking_layer=none", "-e", "knative_domain_mode=none",
                        "-e", "knative_wait_timeout=20")
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "Knative Serving 1.22.1 is not ready after 20 s" in out, out[-3000:]
    assert "is in CrashLoopBackOff; its last log lines:" in out and "Version check failed" in out
    assert "the cluster's Kubernetes is older than this release's minimum" in out


def test_istio_missing_is_named_before_any_write(cluster):
    """A cluster without Istio: the module looks for its Gateway kind before anything is applied (known failure
    2 would otherwise stop the apply half-way, at net-istio's Gateways)."""
    bare = ("-e", "kserve_gke_cluster_name=bare")
    made = cluster.play("gke_cluster", *bare)
    assert made.returncode == 0, made.stdout[-3000:]
    before = len(cluster.requests())
    proc = cluster.play("knative", *bare, *DOMAIN)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "needs Istio (knative_networking_layer is istio), which the cluster does not have" in out, out[-3000:]
    assert "run the istio role first (--tags istio)" in out
    assert [r for r in cluster.writes(before) if r["service"] == "k8s"] == []
