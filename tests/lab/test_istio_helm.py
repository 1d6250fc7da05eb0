# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The istio role's Helm path on a lab cluster: the lab's chart repository
checked with helm itself; a missing helm, an unknown install method and a
chart that is not the pinned one all stopped before any write; check mode
writes nothing, also with the charts read from a local directory; the
install puts in exactly the pinned Istio, istiod before the
gateway whose Pod needs istiod's injector, and a second run writes nothing;
Knative's Istio layer runs on it; chart values reach the charts; absent
removes it all."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import PINS

HELM = os.path.join(os.path.dirname(sys.executable), "helm")
PIN = PINS["istio"]
HELM_ARGS = ("-e", "istio_install_method=helm")


@pytest.fixture(scope="module")
def cluster(lab):
    return lab.converged("gke_cluster")


def helm(lab, *args):
    home = os.path.join(lab.directory, "helm-home")
    env = dict(os.environ, HELM_CACHE_HOME=home + "/cache", HELM_CONFIG_HOME=home + "/config",
               HELM_DATA_HOME=home + "/data")
    proc = subprocess.run([HELM] + list(args), capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_lab_chart_repository_serves_helm_itself(cluster):
    repo = cluster.endpoints["mirror"] + "/istio-release/charts"
    helm(cluster, "repo", "add", "istio", repo)
    listed = helm(cluster, "search", "repo", "istio/", "--output", "json")
    assert {(c["name"], c["version"]) for c in json.loads(listed)} == {
        ("istio/base", PIN), ("istio/istiod", PIN), ("istio/gateway", PIN)}
    rendered = helm(cluster, "template", "istio-ingressgateway", "istio/gateway", "--version", PIN,
                    "--namespace", "istio-system")
    assert "istio: ingressgateway" in rendered and "type: LoadBalancer" in rendered


def test_a_missing_helm_is_named_before_any_write(cluster):
    before = len(cluster.requests())
    proc = cluster.play("istio", *HELM_ARGS, "-e", "istio_helm_binary=/nonexistent/helm")
    assert proc.returncode != 0
    assert "helm needs the helm binary, and none was found" in proc.stdout, proc.stdout[-3000:]
    assert "istio_install_method: manifest, which needs no binary" in proc.stdout
    assert cluster.writes(before) == []


def test_an_unknown_install_method_is_named_before_any_write(cluster):
    before = len(cluster.requests())
    proc = cluster.play("istio", "-e", "istio_install_method=istioctl")
    assert proc.returncode != 0
    assert "istio_install_method: 'istioctl' is not an install method" in proc.stdout, proc.stdout[-3000:]
    assert cluster.writes(before) == []


def test_a_chart_that_is_not_the_pinned_one_stops_before_any_write(cluster):
    before = len(cluster.requests())
    pins = {"kserve_gke_checksums": {"istio-release/charts/istiod-%s.tgz" % PIN: "0" * 64}}
    proc = cluster.play("istio", *HELM_ARGS, "-e", json.dumps(pins))
    assert proc.returncode != 0
    assert "not the one pinned in kserve_gke_checksums" in proc.stdout, proc.stdout[-3000:]
    assert cluster.writes(before) == []


def test_check_mode_writes_nothing(cluster):
    proc = cluster.assert_check_mode_writes_nothing("istio", *HELM_ARGS)
    assert "changed=0" not in proc.stdout


def test_an_air_gapped_site_reads_the_charts_from_kserve_gke_release_dir(cluster):
    mirror = os.path.join(cluster.directory, "mirror")
    before = len(cluster.requests())
    proc = cluster.assert_check_mode_writes_nothing("istio", *HELM_ARGS, "-e", "kserve_gke_release_dir=" + mirror)
    assert "from file://%s/istio-release/charts installs Istio %s." % (mirror, PIN) in " ".join(proc.stdout.split())
    assert [r for r in cluster.requests()[before:] if r["service"] == "mirror"] == []


def test_install_puts_in_the_pin_istiod_first_then_writes_nothing(cluster):
    before = len(cluster.requests())
    proc = cluster.play("istio", *HELM_ARGS)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Helm chart istiod-%s.tgz from %s/istio-release/charts installs Istio %s." % (
        PIN, cluster.endpoints["mirror"], PIN) in " ".join(proc.stdout.split())  # the callback wraps lines
    address = re.search(r"istio-ingressgateway answers on (127\.\d+\.\d+\.\d+)", proc.stdout).group(1)
    istiod = json.loads(cluster.kubectl("-n", "istio-system", "get", "deployment/istiod", "-o", "json"))
    assert istiod["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/istio/pilot:" + PIN
    service = json.loads(cluster.kubectl("-n", "istio-system", "get", "service/istio-ingressgateway", "-o", "json"))
    assert service["status"]["loadBalancer"]["ingress"][0]["ip"] == address
    assert service["spec"]["selector"]["istio"] == "ingressgateway"
    # The gateway's Pod is created through istiod's injector, so its Deployment goes in once istiod serves.
    created = [r["path"] for r in cluster.writes(before) if r["method"] == "PATCH" and "/deployments/" in r["path"]]
    names = [path.rsplit("/", 1)[-1].split("?")[0] for path in created]
    assert names.index("istiod") < names.index("istio-ingressgateway"), names
    cluster.assert_rerun_changes_nothing("istio", *HELM_ARGS)


def test_knative_runs_on_the_helm_installed_istio(cluster):
    proc = cluster.play("knative")
    assert proc.returncode == 0, proc.stdout[-3000:]
    gateways = cluster.kubectl("-n", "knative-serving", "get", "gateways.networking.istio.io", "-o", "name")
    assert "knative-ingress-gateway" in gateways


def test_values_reach_the_charts_and_another_tag_is_named(cluster):
    values = {"istio_helm_values": {"istiod": {"tag": "1.29.0"}}}
    proc = cluster.play("istio", *HELM_ARGS, "-e", json.dumps(values))
    assert proc.returncode == 0, proc.stdout[-3000:]
    said = " ".join(proc.stdout.split())
    assert "installs Istio 1.29.0. This differs from the pin kserve_gke_versions.istio=%s" % PIN in said, said[-3000:]
    assert "remove the image tag set in istio_helm_values.istiod" in said
    istiod = json.loads(cluster.kubectl("-n", "istio-system", "get", "deployment/istiod", "-o", "json"))
    assert istiod["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/istio/pilot:1.29.0"


def test_absent_removes_what_the_charts_installed(cluster):
    for tags, state in (("knative", "knative_state=absent"), ("istio", "istio_state=absent")):  # teardown's order
        proc = cluster.play(tags, *HELM_ARGS, "-e", state)
        assert proc.returncode == 0, proc.stdout[-3000:]
    crds = cluster.kubectl("get", "crd", "-o", "name")
    assert "istio.io" not in crds
    namespaces = cluster.kubectl("get", "namespaces", "-o", "name")
    assert "namespace/istio-system" not in namespaces
    webhooks = cluster.kubectl("get", "mutatingwebhookconfigurations,validatingwebhookconfigurations", "-o", "name")
    assert "istio" not in webhooks
