# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kserve role on a lab cluster, in Standard mode (Knative mode, after istio
and knative, is at the end of test_istio_role.py): what it needs is named before any
write, the manifest's configuration carries the mode, predictors get a
ServiceAccount bound by Workload Identity (checked with gcloud), nothing is
written twice, and uninstalling leaves no InferenceService stuck."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
import yaml

from conftest import PINS, PLAYBOOK, ROOT

STANDARD = ("-e", "kserve_deployment_mode=Standard")


@pytest.fixture(scope="module")
def cluster(lab):
    return lab.converged("gke_cluster")


def stop_controller(cluster, namespace, deployment):
    """Scale a component's controller to zero and wait until no Pod of it is ready."""
    cluster.kubectl("-n", namespace, "scale", "deployment/" + deployment, "--replicas=0")
    cluster.wait_unready(namespace, deployment)


def k8s_writes(cluster, before):
    return [r for r in cluster.writes(before) if r["service"] == "k8s"]


def test_missing_cert_manager_is_named_before_any_write(cluster):
    before = len(cluster.requests())
    proc = cluster.play("kserve", *STANDARD)
    assert proc.returncode != 0
    assert "needs cert-manager (its webhook certificate)" in proc.stdout and "--tags cert_manager" in proc.stdout
    assert k8s_writes(cluster, before) == []


def test_inference_services_without_kserve_are_refused_before_any_write(cluster):
    before = len(cluster.requests())
    proc = cluster.play("inference_service")
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "needs KServe's InferenceService kind, which the cluster does not have" in out, out[-3000:]
    assert "run the kserve role first (--tags kserve)" in out
    assert k8s_writes(cluster, before) == []


def test_knative_mode_without_knative_offers_standard(cluster):
    assert cluster.play("cert_manager").returncode == 0
    before = len(cluster.requests())
    proc = cluster.play("kserve")
    assert proc.returncode != 0
    assert "needs Knative Serving" in proc.stdout and "use kserve_deployment_mode: Standard" in proc.stdout
    assert k8s_writes(cluster, before) == []


def test_an_unknown_runtime_is_refused_with_the_ones_shipped(cluster):
    before = len(cluster.requests())
    proc = cluster.play("kserve", *STANDARD, "-e", '{"kserve_cluster_runtimes": ["kserve-tensorflow"]}')
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "KServe 0.20.0: the include rule file=*/kserve-cluster-resources.yaml, kind=ClusterServingRuntime, " \
        "name=kserve-tensorflow matches no object of the release files" in out, out[-3000:]
    assert "kserve-tensorflow-serving" in out
    assert k8s_writes(cluster, before) == []


def test_check_mode_writes_nothing(cluster):
    cluster.assert_check_mode_writes_nothing("kserve", *STANDARD)


def test_a_controller_that_never_gets_its_certificate_fails_with_the_reason(cluster):
    """cert-manager's controller away: KServe's webhook Secret is never issued, the controller never
    starts, and the wait ends with a message that says so rather than a bare timeout."""
    stop_controller(cluster, "cert-manager", "cert-manager")
    proc = cluster.play("kserve", *STANDARD, "-e", "kserve_wait_timeout=4")
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "KServe 0.20.0 is not ready after 4 s" in out, out[-3000:]
    assert "Pod kserve/kserve-controller-manager-" in out and "cannot start" in out, out[-3000:]
    assert "webhook Service kserve/kserve-webhook-server-service has no ready endpoints (known failure 1" in out
    assert "the Secret kserve-webhook-server-cert is missing; a webhook's serving certificate is issued by " \
        "cert-manager" in out
    recovered = cluster.play("cert_manager,kserve", *STANDARD)   # the cert_manager role scales it back
    assert recovered.returncode == 0, recovered.stdout[-3000:]


def test_standard_mode_installs_without_istio_or_knative_then_writes_nothing(cluster):
    proc = cluster.play("istio,knative,kserve", *STANDARD)
    assert proc.returncode == 0, proc.stdout[-3000:]
    namespaces = cluster.kubectl("get", "namespaces", "-o", "name")
    assert "namespace/istio-system" not in namespaces and "namespace/knative-serving" not in namespaces
    config = json.loads(cluster.kubectl("-n", "kserve", "get", "configmap/inferenceservice-config", "-o", "json"))
    assert json.loads(config["data"]["deploy"]) == {"defaultDeploymentMode": "Standard"}
    ingress = json.loads(config["data"]["ingress"])
    assert "ingressClassName" not in ingress  # GKE's controller ignores a class given only there
    assert ingress["domainTemplate"] == "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"  # upstream's, untouched
    runtimes = cluster.kubectl("get", "clusterservingruntimes", "-o", "name")
    assert runtimes.split() == ["clusterservingruntime.serving.kserve.io/kserve-tensorflow-serving"]
    # Of kserve-cluster-resources.yaml, only the runtime: none of its LLMInferenceServiceConfigs.
    assert cluster.kubectl("get", "llminferenceserviceconfigs", "-A", "-o", "name").strip() == ""
    account = json.loads(cluster.kubectl("-n", "models", "get", "serviceaccount/kserve-predictor", "-o", "json"))
    email = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    env = cluster.client_env(CLOUDSDK_CONFIG=cluster.directory + "/gcloud-kserve")
    policy = subprocess.run(["gcloud", "iam", "service-accounts", "get-iam-policy", email, "--format=json"],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert policy.returncode == 0, policy.stderr
    bindings = {b["role"]: b["members"] for b in json.loads(policy.stdout)["bindings"]}
    assert bindings["roles/iam.workloadIdentityUser"] == ["serviceAccount:kserve-lab.svc.id.goog[models/kserve-predictor]"]
    cluster.assert_rerun_changes_nothing("kserve", *STANDARD)


def test_the_release_has_no_namespace_so_the_role_makes_it(cluster):
    """KServe's release build drops the Namespace since 0.17; applying its kserve.yaml alone fails."""
    release = os.path.join(cluster.directory, "mirror", "kserve", "kserve", "releases", "download",
                           "v%s" % PINS["kserve"], "kserve.yaml")
    with open(release, encoding="utf-8") as handle:
        kinds = [doc["kind"] for doc in yaml.safe_load_all(handle) if doc]
    assert "Namespace" not in kinds and kinds[0] == "CustomResourceDefinition"
    assert "namespace/kserve" in cluster.kubectl("get", "namespaces", "-o", "name")
    applied = [r for r in cluster.requests() if r["service"] == "k8s" and r["method"] == "PATCH"
               and r["path"].endswith("/api/v1/namespaces/kserve")]
    assert applied, "the role did not apply the namespace itself"


def test_the_llmisvc_webhook_refuses_to_delete_a_well_known_config(cluster):
    """What the kserve role no longer applies, and so never has to delete: checked with kubectl. Both versions'
    validators match the request (matchPolicy Equivalent), and kube-apiserver reports whichever denial reaches it
    first (k8s.io/apiserver v0.35.4, plugin/webhook/validating/dispatcher.go), so either may be named."""
    config = {"apiVersion": "serving.kserve.io/v1alpha2", "kind": "LLMInferenceServiceConfig",
              "metadata": {"name": "kserve-config-llm-template", "namespace": "kserve"}, "spec": {}}
    assert cluster.kubectl_apply(json.dumps(config)).returncode == 0
    refused = subprocess.run(["kubectl", "--kubeconfig", os.path.join(cluster.directory, "kserve-gke.kubeconfig"),
                              "-n", "kserve", "delete", "llminferenceserviceconfig", "kserve-config-llm-template"],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert re.search(r'admission webhook "llminferenceserviceconfig\.kserve-webhook-server\.v1alpha[12]\.validator" '
                     r'denied the request: well-known config kserve/kserve-config-llm-template cannot be deleted',
                     refused.stderr), refused.stderr


def serviceusage(cluster, verb, service="iam.googleapis.com"):
    url = "%s/v1/projects/kserve-lab/services/%s%s" % (cluster.endpoints["serviceusage"], service, verb)
    return subprocess.run(["curl", "-s", "-X", "POST" if verb else "GET", "-H",
                           "Authorization: Bearer " + cluster.endpoints["token"], url],
                          capture_output=True, text=True, check=True).stdout


def test_check_mode_on_a_project_without_the_iam_api_says_what_it_would_do(cluster):
    """Issue 16, item 4: the cluster is there, the IAM API was disabled by hand; the real run enables it before it
    binds the predictor's account, so check mode reports that rather than failing on the 403."""
    assert "DisableServiceResponse" in serviceusage(cluster, ":disable")
    try:
        before = len(cluster.requests())
        proc = cluster.play("kserve", *STANDARD, "--check")
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert cluster.writes(before) == []
    finally:
        assert "EnableServiceResponse" in serviceusage(cluster, ":enable")


def test_the_smoke_test_names_a_missing_inference_service(cluster):
    env = cluster.client_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([PLAYBOOK, "playbooks/smoke_test.yml", "-i", "inventories/lab"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "InferenceService models/dogs-vs-cats does not exist" in proc.stdout
    assert "Fix: run site.yml --tags inference_service, or point smoke_test_url at the model" in proc.stdout


def inference_service(cluster, name):
    created = cluster.kubectl_apply(json.dumps({
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": name, "namespace": "models"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "tensorflow"}, "storageUri": "gs://b/m"}}}}))
    assert created.returncode == 0, created.stderr
    cluster.kubectl("-n", "models", "wait", "--for=jsonpath={.metadata.finalizers[0]}=inferenceservice.finalizers",
                    "inferenceservice/" + name, "--timeout=60s")


def test_without_its_controller_a_deleted_inference_service_stays_terminating(cluster):
    """Why uninstalling deletes InferenceServices before the controller: KServe's finalizer."""
    inference_service(cluster, "held")
    stop_controller(cluster, "kserve", "kserve-controller-manager")
    cluster.kubectl("-n", "models", "delete", "inferenceservice/held", "--wait=false")
    time.sleep(3)
    held = json.loads(cluster.kubectl("-n", "models", "get", "inferenceservice/held", "-o", "json"))
    assert held["metadata"]["deletionTimestamp"] and held["metadata"]["finalizers"] == ["inferenceservice.finalizers"]
    cluster.kubectl("-n", "kserve", "scale", "deployment/kserve-controller-manager", "--replicas=1")
    cluster.kubectl("-n", "models", "wait", "--for=delete", "inferenceservice/held", "--timeout=120s")


def test_absent_removes_the_inference_services_first_then_kserve_and_again_changes_nothing(cluster):
    """The removal deletes what the role applied, webhook configurations first, so the well-known config left
    by the test above goes with its CRD rather than through the webhook that refuses it."""
    inference_service(cluster, "left-behind")
    proc = cluster.play("kserve", *STANDARD, "-e", "kserve_state=absent")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "models/left-behind" in proc.stdout
    crds = cluster.kubectl("get", "crd", "-o", "name")
    assert "serving.kserve.io" not in crds
    namespaces = cluster.kubectl("get", "namespaces", "-o", "name")
    assert "namespace/kserve" not in namespaces and "namespace/models" not in namespaces  # both made by the role
    cluster.assert_rerun_changes_nothing("kserve", *STANDARD, "-e", "kserve_state=absent")
