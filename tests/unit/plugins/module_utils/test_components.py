# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils import components
from ansible_collections.mlops.kserve_gke.plugins.module_utils.components import ComponentError


def obj(kind, name, namespace=None, api_version="v1", **fields):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return dict({"apiVersion": api_version, "kind": kind, "metadata": meta}, **fields)


NS = obj("Namespace", "kserve")
CRD = obj("CustomResourceDefinition", "isvcs.serving.kserve.io", api_version="apiextensions.k8s.io/v1",
          spec={"conversion": {"webhook": {"clientConfig": {"service": {"namespace": "kserve", "name": "conv"}}}}})
DEPLOY = obj("Deployment", "controller", "kserve", "apps/v1")
DS = obj("DaemonSet", "installer", "kube-system", "apps/v1")
HOOK = obj("ValidatingWebhookConfiguration", "isvc", api_version="admissionregistration.k8s.io/v1",
           webhooks=[{"clientConfig": {"service": {"namespace": "kserve", "name": "webhook"}}},
                     {"clientConfig": {"service": {"namespace": "kserve", "name": "webhook"}}}])
LB = obj("Service", "gateway", "istio-system", spec={"type": "LoadBalancer"})
CM = obj("ConfigMap", "config", "kserve")
RUNTIME_A = obj("ClusterServingRuntime", "kserve-tensorflow-serving", api_version="serving.kserve.io/v1alpha1")
RUNTIME_B = obj("ClusterServingRuntime", "kserve-sklearnserver", api_version="serving.kserve.io/v1alpha1")
LLM = obj("LLMInferenceServiceConfig", "kserve-config-llm", "kserve", "serving.kserve.io/v1alpha1")


def test_install_order_puts_namespaces_and_crds_first_and_webhooks_last():
    first, rest = components.install_order([HOOK, DEPLOY, CRD, CM, NS])
    assert first == [NS, CRD] and rest == [DEPLOY, CM, HOOK]


def test_removal_order_is_webhooks_then_the_rest_reversed_then_crds_then_namespaces():
    assert components.removal_order([NS, CRD, DEPLOY, CM, HOOK]) == [HOOK, CM, DEPLOY, CRD, NS]


def test_needs_lists_every_piece_once():
    pieces = components.needs([NS, CRD, DEPLOY, DS, HOOK, LB, CM])
    assert pieces == [
        {"kind": "CustomResourceDefinition", "namespace": None, "name": "isvcs.serving.kserve.io"},
        {"kind": "WebhookService", "namespace": "kserve", "name": "conv"},
        {"kind": "Deployment", "namespace": "kserve", "name": "controller"},
        {"kind": "DaemonSet", "namespace": "kube-system", "name": "installer"},
        {"kind": "WebhookService", "namespace": "kserve", "name": "webhook"},
        {"kind": "LoadBalancer", "namespace": "istio-system", "name": "gateway"}]


FILE_A, FILE_B = "kserve/kserve.yaml", "kserve/kserve-cluster-resources.yaml"
SOURCED = [(FILE_A, DEPLOY), (FILE_A, CM), (FILE_B, RUNTIME_A), (FILE_B, RUNTIME_B), (FILE_B, LLM),
           ("definitions", NS)]


@pytest.mark.parametrize("include, exclude, kept", [
    ([], [], [DEPLOY, CM, RUNTIME_A, RUNTIME_B, LLM, NS]),
    ([{"kind": "ClusterServingRuntime"}], [], [RUNTIME_A, RUNTIME_B]),
    # A rule limited to a file keeps the other files whole.
    ([{"file": "*/kserve-cluster-resources.yaml", "kind": "ClusterServingRuntime",
       "name": ["kserve-tensorflow-serving"]}], [], [DEPLOY, CM, RUNTIME_A, NS]),
    ([{"file": "*cluster-resources.yaml", "kind": "ClusterServingRuntime", "name": []}], [],
     [DEPLOY, CM, RUNTIME_A, RUNTIME_B, NS]),
    ([], [{"kind": "LLM*"}, {"kind": "ConfigMap", "namespace": "kserve"}], [DEPLOY, RUNTIME_A, RUNTIME_B, NS]),
    ([], [{"file": FILE_A, "name": "config"}], [DEPLOY, RUNTIME_A, RUNTIME_B, LLM, NS]),
])
def test_select(include, exclude, kept):
    assert components.select(SOURCED, include, exclude) == kept


def test_an_include_rule_that_matches_nothing_names_what_there_is():
    with pytest.raises(ComponentError, match="name=kserve-tensorflow matches no object of the release files; of that "
                                             "kind they have: kserve-sklearnserver, kserve-tensorflow-serving"):
        components.select(SOURCED, [{"kind": "ClusterServingRuntime", "name": ["kserve-tensorflow"]}])


@pytest.mark.parametrize("rule", [{}, {"kind": "X", "names": "y"}])
def test_a_rule_with_unknown_fields_is_refused(rule):
    with pytest.raises(ComponentError, match="a select rule takes kind, name, namespace and file"):
        components.select(SOURCED, [rule])


def test_unique_keeps_the_first_of_each_object():
    again = dict(CRD, spec={})
    assert components.unique([("a", CRD), ("b", again), ("b", DEPLOY)]) == [("a", CRD), ("b", DEPLOY)]


def test_check_namespace_refuses_a_release_elsewhere():
    components.check_namespace([NS, DEPLOY, CRD], "kserve")
    with pytest.raises(ComponentError, match="the namespace is models, but the release puts its objects in kserve"):
        components.check_namespace([DEPLOY], "models")


def status(kind, **fields):
    return dict(obj(kind, "x", "ns", "apps/v1"), status=fields)


def deployment(observed, updated):
    found = status("Deployment", observedGeneration=observed, updatedReplicas=updated,
                   conditions=[{"type": "Available", "status": "True"}])
    return dict(found, spec={"replicas": 1})


@pytest.mark.parametrize("found, ready", [
    (deployment(observed=2, updated=1), True),
    (deployment(observed=1, updated=1), False),  # the old spec's status
    (deployment(observed=2, updated=0), False),  # still rolling out
])
def test_deployment_ready_needs_the_current_spec_rolled_out(found, ready):
    found["metadata"]["generation"] = 2
    assert components.deployment_ready(found) is ready


@pytest.mark.parametrize("fields, ready", [
    ({"desiredNumberScheduled": 2, "numberReady": 2, "updatedNumberScheduled": 2}, True),
    ({"desiredNumberScheduled": 2, "numberReady": 1, "updatedNumberScheduled": 2}, False),
    ({"desiredNumberScheduled": 0, "numberReady": 0, "updatedNumberScheduled": 0}, True),   # no GPU node yet
])
def test_daemonset_ready(fields, ready):
    assert components.daemonset_ready(status("DaemonSet", **fields)) is ready


def test_not_ready_reads_each_kind_of_piece():
    pieces = components.needs([CRD, DEPLOY, LB])
    state = {"CustomResourceDefinition": [dict(CRD, status={"conditions": [{"type": "Established",
                                                                           "status": "True"}]})],
             "Deployment": [], "Service": [dict(LB, status={"loadBalancer": {"ingress": [{"ip": "34.1.2.3"}]}})]}
    waiting = components.not_ready(pieces, state, lambda ns, name: 1 if name == "conv" else 0)
    assert waiting == [{"kind": "Deployment", "namespace": "kserve", "name": "controller"}]


@pytest.mark.parametrize("ingress, found", [
    ([{"ip": "34.1.2.3"}], {"istio-system/gateway": "34.1.2.3"}),
    ([{"hostname": "lb.example.com"}], {"istio-system/gateway": "lb.example.com"}),
    ([], {}),
])
def test_load_balancers_gives_each_address_by_namespace_and_name(ingress, found):
    pieces = components.needs([DEPLOY, LB])
    state = {"Service": [obj("Service", "gateway", "other"),
                         dict(LB, status={"loadBalancer": {"ingress": ingress}})]}
    assert components.load_balancers(pieces, state) == found


CERTS = {"crd": "certificates.cert-manager.io", "what": "cert-manager (its webhook certificate)"}
SERVING = {"crd": "services.serving.knative.dev", "what": "Knative Serving"}


@pytest.mark.parametrize("served, fix, message", [
    (["certificates.cert-manager.io", "services.serving.knative.dev"], None, None),
    ([], "run the roles before it (--tags cert_manager).",
     "KServe needs cert-manager (its webhook certificate) and Knative Serving, which the cluster does not have "
     "(CRD certificates.cert-manager.io, services.serving.knative.dev missing). Fix: run the roles before it "
     "(--tags cert_manager)."),
    (["certificates.cert-manager.io"], None,
     "KServe needs Knative Serving, which the cluster does not have (CRD services.serving.knative.dev missing). "
     "Fix: install what brings those CRDs first, then re-run."),
])
def test_missing_requirements_names_what_brings_each_crd(served, fix, message):
    assert components.missing_requirements("KServe", [CERTS, SERVING], served, fix) == message


def test_missing_requirements_without_what_names_the_crd():
    assert "needs x.example.com," in components.missing_requirements("C", [{"crd": "x.example.com"}], [], None)


def test_differs_ignores_what_the_server_sets():
    live = dict(DEPLOY, metadata=dict(DEPLOY["metadata"], resourceVersion="7", generation=3, uid="u",
                                      creationTimestamp="t", managedFields=[{"manager": "kserve_gke"}]))
    would = dict(DEPLOY, metadata=dict(DEPLOY["metadata"], resourceVersion="7", generation=3, uid="u",
                                       creationTimestamp="t", managedFields=[{"manager": "kserve_gke", "time": "u"}]))
    assert not components.differs(live, would)
    assert components.differs(live, dict(would, spec={"replicas": 2}))
    assert components.differs(None, would)


def test_differs_ignores_a_status_that_moved_between_the_read_and_the_dry_run():
    """Found on the lab's real control plane: a re-run right after an install read a Deployment with 0 ready
    replicas and dry-ran it a moment later with 1, and wrote it although nothing of ours had changed."""
    live = dict(DEPLOY, status={"replicas": 1})
    would = dict(DEPLOY, status={"replicas": 1, "readyReplicas": 1, "availableReplicas": 1})
    assert not components.differs(live, would)
