# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The istio role's manifest path on a lab cluster: net-istio's istio.yaml, Knative's CI
profile, does not fit the default system pool, and the wait says which Pod waits for
how much CPU and what to do; with a second system node it installs Istio 1.29.2 (not
the pin, and says so), waits for the gateway's address and publishes it, and writes
nothing the second time. The Knative networking layer is refused, with the fix,
while Istio is missing; then the whole Knative-mode stack (istio, knative,
cert_manager, kserve) converges, and converges again with no write. (The default,
Istio's Helm charts: test_istio_helm.py.)"""
from __future__ import annotations

import json
import re

import pytest

from conftest import PINS, until

MANIFEST = ("-e", "istio_install_method=manifest")


@pytest.fixture(scope="module")
def cluster(lab):
    return lab.converged("gke_cluster")


def test_knative_before_istio_names_the_missing_istio(cluster):
    proc = cluster.play("knative")
    assert proc.returncode != 0
    assert "run the istio role first" in proc.stdout, proc.stdout[-3000:]


def test_check_mode_writes_nothing(cluster):
    cluster.assert_check_mode_writes_nothing("istio", *MANIFEST)


def test_the_ci_profile_does_not_fit_the_default_system_pool_and_the_wait_says_why(cluster):
    """Three gateway Pods of 1 CPU and istiod from three Pods of 500m: 4.5 CPU, where one e2-standard-4 has
    3.92 less GKE's own Pods. Before, the lab scheduled no CPU and this passed; on GKE it hung."""
    proc = cluster.play("istio", *MANIFEST, "-e", "istio_wait_timeout=15")
    assert proc.returncode != 0
    found = re.search(r"Pod istio-system/(\S+) is Pending: it asks for (\S+) CPU and (\S+) GiB of memory, and no "
                      r"node it may run on has that free \(0/2 nodes are available: 1 Insufficient cpu", proc.stdout)
    assert found, proc.stdout[-3000:]
    assert "Free on the nodes it may run on: gke-kserve-lab-system-" in proc.stdout
    assert ("Fix: give the node pool these Pods may run on more room: more nodes (gke_cluster_system_node_count for "
            "the system pool)") in proc.stdout
    assert "or use istio_install_method: helm, whose istiod and gateway ask for 0.6 CPU in all" in proc.stdout


def test_with_room_the_manifest_installs_its_own_istio_and_writes_nothing_twice(cluster):
    assert cluster.play("gke_cluster", "-e", "gke_cluster_system_node_count=2").returncode == 0
    proc = cluster.play("istio", *MANIFEST)
    assert proc.returncode == 0, proc.stdout[-3000:]
    address = re.search(r"istio-ingressgateway answers on (127\.\d+\.\d+\.\d+)", proc.stdout).group(1)
    service = json.loads(cluster.kubectl("-n", "istio-system", "get", "service/istio-ingressgateway", "-o", "json"))
    assert service["status"]["loadBalancer"]["ingress"][0]["ip"] == address
    assert "http2" in [port["name"] for port in service["spec"]["ports"]]
    assert "installs Istio 1.29.2." in proc.stdout
    assert "differs from the pin kserve_gke_versions.istio=%s" % PINS["istio"] in proc.stdout
    istiod = json.loads(cluster.kubectl("-n", "istio-system", "get", "deployment/istiod", "-o", "json"))
    assert istiod["status"]["readyReplicas"] == 3  # its autoscaler's minimum
    cluster.assert_rerun_changes_nothing("istio", *MANIFEST)


def test_a_gateway_waiting_for_istiod_is_waited_out(cluster):
    """istiod deleted and the gateway restarted: the gateway cannot turn Ready until the role has put
    istiod back, and the role waits for both rather than trusting the apply."""
    cluster.kubectl("-n", "istio-system", "delete", "deployment/istiod")
    cluster.kubectl("-n", "istio-system", "wait", "--for=delete", "pod", "-l", "app=istiod", "--timeout=60s")
    cluster.kubectl("-n", "istio-system", "delete", "pod", "-l", "app=istio-ingressgateway", "--wait=true")
    cluster.wait_unready("istio-system", "istio-ingressgateway")
    # the new Pods are unready from their creation; the kubelet says why once it has started them
    until("the gateway's readiness event naming istiod", lambda: "waiting for istiod.istio-system" in cluster.kubectl(
        "-n", "istio-system", "get", "events", "--field-selector", "reason=Unhealthy", "-o",
        "jsonpath={.items[*].message}"))
    proc = cluster.play("istio", *MANIFEST)
    assert proc.returncode == 0, proc.stdout[-3000:]
    gateway = json.loads(cluster.kubectl("-n", "istio-system", "get", "deployment/istio-ingressgateway", "-o", "json"))
    assert gateway["status"]["readyReplicas"] == 3


def test_knative_routes_through_istio_under_the_sslip_domain(cluster):
    proc = cluster.play("knative")
    assert proc.returncode == 0, proc.stdout[-3000:]
    address = json.loads(cluster.kubectl("-n", "istio-system", "get", "service/istio-ingressgateway", "-o",
                                         "json"))["status"]["loadBalancer"]["ingress"][0]["ip"]
    domain = json.loads(cluster.kubectl("-n", "knative-serving", "get", "configmap/config-domain", "-o", "json"))
    assert "%s.sslip.io" % address in domain["data"]
    network = json.loads(cluster.kubectl("-n", "knative-serving", "get", "configmap/config-network", "-o", "json"))
    assert network["data"]["ingress-class"] == "istio.ingress.networking.knative.dev"
    gateways = cluster.kubectl("-n", "knative-serving", "get", "gateways.networking.istio.io", "-o", "name")
    assert "knative-ingress-gateway" in gateways
    cluster.assert_rerun_changes_nothing("knative")


def test_kserve_in_knative_mode_on_the_stack_then_the_stack_writes_nothing(cluster):
    proc = cluster.play("cert_manager,kserve")
    assert proc.returncode == 0, proc.stdout[-3000:]
    config = json.loads(cluster.kubectl("-n", "kserve", "get", "configmap/inferenceservice-config", "-o", "json"))
    assert json.loads(config["data"]["deploy"]) == {"defaultDeploymentMode": "Knative"}
    assert json.loads(config["data"]["ingress"])["ingressGateway"] == "knative-serving/knative-ingress-gateway"
    cluster.assert_rerun_changes_nothing("istio,knative,cert_manager,kserve", *MANIFEST)
