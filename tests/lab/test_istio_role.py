# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The istio role on a lab cluster: net-istio's Istio installed from the mirror,
the gateway's address waited for and published, nothing written twice; the
Knative networking layer refused, with the fix, while Istio is missing; then
the whole Knative-mode stack (istio, knative, cert_manager, kserve) converged,
and converged again with no write."""
from __future__ import annotations

import json
import re

import pytest

from conftest import PINS


@pytest.fixture(scope="module")
def cluster(lab):
    return lab.converged("gke_cluster")


def test_knative_before_istio_names_the_missing_istio(cluster):
    proc = cluster.play("knative")
    assert proc.returncode != 0
    assert "run the istio role first" in proc.stdout, proc.stdout[-3000:]


def test_check_mode_writes_nothing(cluster):
    cluster.assert_check_mode_writes_nothing("istio")


def test_install_waits_for_the_gateway_address_then_writes_nothing(cluster):
    proc = cluster.play("istio")
    assert proc.returncode == 0, proc.stdout[-3000:]
    address = re.search(r"istio-ingressgateway answers on (127\.0\.1\.\d+)", proc.stdout).group(1)
    service = json.loads(cluster.kubectl("-n", "istio-system", "get", "service/istio-ingressgateway", "-o", "json"))
    assert service["status"]["loadBalancer"]["ingress"][0]["ip"] == address
    assert "http2" in [port["name"] for port in service["spec"]["ports"]]
    assert "installs Istio %s." % PINS["istio"] in proc.stdout and "differs from the pin" not in proc.stdout
    cluster.assert_rerun_changes_nothing("istio")


def test_a_pin_of_another_minor_is_named(cluster):
    proc = cluster.play("istio", "-e", '{"kserve_gke_versions": {"istio": "1.29.2"}}')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "differs from the pin kserve_gke_versions.istio=1.29.2" in proc.stdout


def test_a_gateway_waiting_for_istiod_is_waited_out(cluster):
    """istiod scaled away and the gateway restarted: the gateway cannot turn Ready until the
    role has put istiod back, and the role waits for both rather than trusting the apply."""
    cluster.kubectl("-n", "istio-system", "scale", "deployment/istiod", "--replicas=0")
    cluster.kubectl("-n", "istio-system", "wait", "--for=delete", "pod", "-l", "app=istiod", "--timeout=60s")
    cluster.kubectl("-n", "istio-system", "delete", "pod", "-l", "app=istio-ingressgateway", "--wait=true")
    cluster.kubectl("-n", "istio-system", "wait", "--for=jsonpath={.status.readyReplicas}=0",
                    "deployment/istio-ingressgateway", "--timeout=60s")
    events = cluster.kubectl("-n", "istio-system", "get", "events", "--field-selector", "reason=Unhealthy",
                             "-o", "jsonpath={.items[*].message}")
    assert "waiting for istiod.istio-system" in events
    proc = cluster.play("istio")
    assert proc.returncode == 0, proc.stdout[-3000:]
    gateway = json.loads(cluster.kubectl("-n", "istio-system", "get", "deployment/istio-ingressgateway", "-o", "json"))
    assert gateway["status"]["readyReplicas"] == 1


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
    cluster.assert_rerun_changes_nothing("istio,knative,cert_manager,kserve")
