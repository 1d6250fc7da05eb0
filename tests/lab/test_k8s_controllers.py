# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab cluster's controllers and scheduler (upstream's), its kubelets (the lab's) and admission webhooks,
driven by the real kubectl: readiness takes time, GPU pods land only where drivers are in, webhooks without
endpoints refuse requests, kube-scheduler says why a Pod does not fit."""
from __future__ import annotations

import json
import socket
import time

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient import discovery

from conftest import run_module, until
from test_k8s_api import CONTEXT, cluster, kubectl  # noqa: F401  pylint: disable=unused-import

APP = """
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""
GPU_POD = """
apiVersion: v1
kind: Pod
metadata: {name: %(name)s, namespace: demo}
spec:
  restartPolicy: Never
  %(extra)s
  containers:
    - name: cuda
      image: nvidia/cuda:12.4.1-base-ubuntu22.04
      command: [nvidia-smi]
      resources: {limits: {nvidia.com/gpu: %(gpus)d}}
"""
TOLERATE = "tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]"
WEBHOOK = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: widgets-check}
webhooks:
  - name: validate.widgets.example.com
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10
    clientConfig:
      service: {name: widget-webhook, namespace: demo, path: /validate, port: 443}
    rules:
      - {operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
    namespaceSelector:
      matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]
---
apiVersion: v1
kind: Service
metadata: {name: widget-webhook, namespace: demo}
spec:
  selector: {app: widget-webhook}
  ports: [{port: 443, targetPort: 8443}]
"""
CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: %s}
data: {a: b}
"""
WEBHOOK_SERVER = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: widget-webhook, namespace: demo}
spec:
  selector: {matchLabels: {app: widget-webhook}}
  template:
    metadata: {labels: {app: widget-webhook}}
    spec:
      containers: [{name: webhook, image: example/webhook}]
"""


def apply(env, text):
    proc = kubectl(env, "apply", "--server-side", "-f", "-", stdin=text)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_deployment_becomes_available_with_endpoints_and_a_load_balancer(cluster):  # noqa: F811
    apply(cluster, APP)
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=condition=Available", "deployment/web", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    deploy = json.loads(kubectl(cluster, "-n", "demo", "get", "deployment/web", "-o", "json").stdout)
    assert deploy["status"]["readyReplicas"] == 2 and deploy["status"]["observedGeneration"] == 1
    pods = json.loads(kubectl(cluster, "-n", "demo", "get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}",
                   "service/web", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    address = kubectl(cluster, "-n", "demo", "get", "service/web", "-o",
                      "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout
    assert address.startswith("127.")
    endpoints = json.loads(kubectl(cluster, "-n", "demo", "get", "endpoints/web", "-o", "json").stdout)
    assert len(endpoints["subsets"][0]["addresses"]) == 2 and endpoints["subsets"][0]["ports"][0]["port"] == 8080
    apply(cluster, APP.replace("replicas: 2", "replicas: 1"))
    kubectl(cluster, "-n", "demo", "wait", "--for=jsonpath={.status.replicas}=1", "deployment/web", "--timeout=30s")
    assert len(kubectl(cluster, "-n", "demo", "get", "pods", "-l", "app=web", "-o", "name").stdout.split()) == 1


def test_a_load_balancer_without_a_free_address_stays_pending_and_says_why(cluster):  # noqa: F811
    """Issue 16, item 5: a second lab's gateway failed to listen and only printed it. The lab now skips
    addresses something else listens on, and when none is left the Service stays pending with the service
    controller's SyncLoadBalancerFailed event, which k8s_component's diagnosis quotes (known failure 3)."""
    apply(cluster, APP)
    kubectl(cluster, "-n", "demo", "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}", "service/web",
            "--timeout=30s")
    first = kubectl(cluster, "-n", "demo", "get", "service/web", "-o",
                    "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout
    block = first.rsplit(".", 1)[0] + "."
    taken = []
    try:
        for last in range(10, 255):
            if block + str(last) == first:
                continue
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((block + str(last), 80))
            sock.listen(1)
            taken.append(sock)
        service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "second", "namespace": "demo"},
                   "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}}
        proc, result = run_module("mlops.kserve_gke.k8s_component", {
            "name": "a second load balancer", "definitions": [service], "wait_timeout": 6, "poll_interval": 1,
            "kubeconfig": cluster["KUBECONFIG"], "context": CONTEXT})
        assert proc.returncode != 0
        message = " ".join(result.get("msg", proc.stdout).split())
        assert "LoadBalancer Service demo/second has no external address yet (known failure 3): Error syncing " \
               "load balancer: failed to ensure load balancer: no address of %s10-254 is free" % block in message
        assert "kubectl describe service -n demo second" in message
        assert kubectl(cluster, "-n", "demo", "get", "service/second", "-o",
                       "jsonpath={.status.loadBalancer.ingress}").stdout == ""
        freed = taken.pop(-1)
        address = freed.getsockname()[0]
        freed.close()
        wait = kubectl(cluster, "-n", "demo", "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=%s"
                       % address, "service/second", "--timeout=30s")
        assert wait.returncode == 0, wait.stderr
    finally:
        for sock in taken:
            sock.close()
    kubectl(cluster, "-n", "demo", "delete", "service/second", "--wait=false")


def test_gpu_pod_runs_nvidia_smi_only_where_it_fits(cluster):  # noqa: F811
    apply(cluster, GPU_POD % {"name": "no-toleration", "extra": "", "gpus": 1})
    apply(cluster, GPU_POD % {"name": "too-many", "extra": TOLERATE, "gpus": 4})
    apply(cluster, GPU_POD % {"name": "smi", "extra": TOLERATE, "gpus": 1})
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/smi",
                   "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    logs = kubectl(cluster, "-n", "demo", "logs", "smi")
    assert logs.returncode == 0 and "Tesla T4" in logs.stdout and "NVIDIA-SMI" in logs.stdout
    for name, words in (("no-toleration", "untolerated taint(s)"),  # kube-scheduler 1.35 names no taint
                        ("too-many", "Insufficient nvidia.com/gpu")):
        pod = json.loads(kubectl(cluster, "-n", "demo", "get", "pod", name, "-o", "json").stdout)
        assert pod["status"]["phase"] == "Pending"
        message = pod["status"]["conditions"][0]["message"]
        assert message.startswith("0/3 nodes are available") and words in message, message
    until("kube-scheduler's FailedScheduling event", lambda: "FailedScheduling" in kubectl(  # recorded asynchronously
        cluster, "-n", "demo", "get", "events", "--field-selector", "involvedObject.name=too-many", "-o", "json").stdout)


def test_nodes_offer_what_gke_leaves_after_its_reservations_and_its_own_pods(cluster):  # noqa: F811
    """GKE's documented reservations: an e2-standard-4 offers 3920m and 16 GiB less 2.6 GiB and the 100 MiB
    eviction threshold; GKE's own kube-system workloads are there before ours."""
    node = json.loads(kubectl(cluster, "get", "nodes", "-l", "cloud.google.com/gke-nodepool=system", "-o",
                              "json").stdout)["items"][0]
    assert node["status"]["capacity"]["cpu"] == "4"
    assert node["status"]["allocatable"]["cpu"] == "3920m"
    assert node["status"]["allocatable"]["memory"] == "%dKi" % ((16 * 2 ** 30 - int(2.6 * 2 ** 30) - 100 * 2 ** 20)
                                                                // 1024)
    wait = kubectl(cluster, "-n", "kube-system", "wait", "--for=condition=Available", "deployment/kube-dns",
                   "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    dns = json.loads(kubectl(cluster, "-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns", "-o",
                             "json").stdout)["items"]
    assert {p["spec"]["nodeName"] for p in dns} == {node["metadata"]["name"]}  # GPU nodes are tainted
    agents = kubectl(cluster, "-n", "kube-system", "get", "pods", "-l", "k8s-app=fluentbit-gke", "-o", "name")
    assert len(agents.stdout.split()) == 3


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: %(name)s, namespace: demo}
spec:
  selector: {matchLabels: {app: %(name)s}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      containers: [{name: main, image: busybox%(resources)s}]
"""


def test_a_pod_asking_for_more_cpu_than_is_free_stays_pending_with_the_schedulers_reason(cluster):  # noqa: F811
    def big(cpu):
        return DEPLOYMENT % {"name": "big", "resources": ', resources: {requests: {cpu: "%s", memory: 1Gi}}' % cpu}
    apply(cluster, big("3500m"))
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=jsonpath={.status.conditions[0].reason}=Unschedulable",
                   "pod", "-l", "app=big", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    pod = json.loads(kubectl(cluster, "-n", "demo", "get", "pods", "-l", "app=big", "-o", "json").stdout)["items"][0]
    assert pod["status"]["conditions"][0]["message"] == (  # kube-scheduler v1.35.4's own words
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint(s). no new claims to "
        "deallocate, preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 "
        "Preemption is not helpful for scheduling.")

    def scheduling_events():  # recorded asynchronously
        return kubectl(cluster, "-n", "demo", "get", "events", "--field-selector",
                       "involvedObject.name=%s,reason=FailedScheduling" % pod["metadata"]["name"], "-o", "name").stdout
    until("kube-scheduler's FailedScheduling event", lambda: scheduling_events().strip())
    apply(cluster, big("500m"))
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=condition=Available", "deployment/big", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr


def test_an_idle_autoscaler_holds_its_target_at_min_replicas(cluster):  # noqa: F811
    scaled = DEPLOYMENT % {"name": "scaled", "resources": ""} + """---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: scaled, namespace: demo}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: scaled}
  minReplicas: 3
  maxReplicas: 5
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
"""
    apply(cluster, scaled)
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=jsonpath={.status.readyReplicas}=3", "deployment/scaled",
                   "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    again = kubectl(cluster, "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=scaled)
    assert again.returncode == 0 and "serverside-applied (server dry run)" in again.stdout
    assert kubectl(cluster, "-n", "demo", "get", "deployment/scaled", "-o",
                   "jsonpath={.spec.replicas}").stdout == "3"


KNATIVE_CONTROLLER = """
apiVersion: v1
kind: Pod
metadata:
  name: %(name)s
  namespace: default
  labels: {app: controller, app.kubernetes.io/name: knative-serving, app.kubernetes.io/version: "1.22.1"}
spec:
  containers:
    - name: controller
      image: gcr.io/knative-releases/knative.dev/serving/cmd/controller@sha256:0123
      env: %(env)s
"""


def test_knative_binaries_below_their_kubernetes_minimum_crash_loop_as_upstreams_do(lab, tmp_path):
    """Knative 1.22 needs Kubernetes 1.34 (knative.dev/pkg release-1.22); on an EXTENDED-channel 1.33
    cluster its controller exits with "Version check failed", unless KUBERNETES_MIN_VERSION lowers the bar."""
    container = discovery.build("container", "v1", credentials=Credentials(lab.endpoints["token"]),
                                client_options={"api_endpoint": lab.endpoints["gke"] + "/"},
                                static_discovery=True, cache_discovery=False)
    parent = "projects/kserve-lab/locations/us-central1-a"
    op = container.projects().locations().clusters().create(parent=parent, body={"cluster": {
        "name": "old", "releaseChannel": {"channel": "EXTENDED"}, "initialClusterVersion": "1.33",
        "nodePools": [{"name": "system", "initialNodeCount": 1, "config": {"machineType": "e2-standard-4"}}]}}) \
        .execute()
    while op["status"] != "DONE":
        time.sleep(0.2)
        op = container.projects().locations().operations().get(name=parent + "/operations/" + op["name"]).execute()
    env = dict(lab.client_env())
    old = ("--context", "gke_kserve-lab_us-central1-a_old")
    proc = kubectl(env, *old, "apply", "--server-side", "-f", "-",
                   stdin=KNATIVE_CONTROLLER % {"name": "refused", "env": "[]"})
    assert proc.returncode == 0, proc.stderr
    wait = kubectl(env, *old, "wait", "pod/refused", "--timeout=30s",
                   "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=CrashLoopBackOff")
    assert wait.returncode == 0, wait.stderr
    logs = kubectl(env, *old, "logs", "refused", "--previous")
    assert '"message": "Version check failed"' in logs.stdout
    assert 'kubernetes version \\"1.33.9-gke.1205000\\" is not compatible, need at least \\"1.34.0-0\\"' in logs.stdout
    events = kubectl(env, *old, "get", "events", "--field-selector", "involvedObject.name=refused,reason=BackOff",
                     "-o", "name")
    assert events.stdout.strip()
    lowered = KNATIVE_CONTROLLER % {"name": "lowered", "env": '[{name: KUBERNETES_MIN_VERSION, value: "v1.33.0"}]'}
    assert kubectl(env, *old, "apply", "--server-side", "-f", "-", stdin=lowered).returncode == 0
    wait = kubectl(env, *old, "wait", "--for=condition=Ready", "pod/lowered", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    ok = kubectl(env, "apply", "--server-side", "-f", "-", stdin=KNATIVE_CONTROLLER % {"name": "new", "env": "[]"})
    assert ok.returncode == 0, ok.stderr  # the lab cluster runs 1.35: no complaint there
    wait = kubectl(env, "wait", "--for=condition=Ready", "pod/new", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr


def test_webhook_without_endpoints_refuses_until_its_server_is_ready(cluster):  # noqa: F811
    apply(cluster, WEBHOOK)
    refused = kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=CONFIGMAP % "demo")
    assert refused.returncode != 0
    assert 'failed calling webhook "validate.widgets.example.com"' in refused.stderr
    # kube-apiserver reaches the Service's ClusterIP, which kube-proxy refuses while no Pod is ready behind it (with
    # --enable-aggregator-routing it would say 'no endpoints available for service "widget-webhook"')
    assert "connect: connection refused" in refused.stderr, refused.stderr
    apply(cluster, CONFIGMAP % "kube-system")  # outside the webhook's namespaceSelector
    apply(cluster, WEBHOOK_SERVER)
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=condition=Available", "deployment/widget-webhook",
                   "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=jsonpath={.subsets[0].addresses[0].ip}",
                   "endpoints/widget-webhook", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    # admitted once the component's server answers with the CA it injected (as cert-manager's cainjector does, a
    # moment after the Pod is ready)
    until("the webhook to admit", lambda: kubectl(cluster, "apply", "--server-side", "-f", "-",
                                                  stdin=CONFIGMAP % "demo").returncode == 0, timeout=30)


def test_job_completes_and_deleting_the_owner_removes_its_pods(cluster):  # noqa: F811
    job = """
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: demo}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["true"]}]
"""
    apply(cluster, job)
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=condition=Complete", "job/once", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    assert kubectl(cluster, "-n", "demo", "delete", "deployment/web").returncode == 0
    wait = kubectl(cluster, "-n", "demo", "wait", "--for=delete", "pod", "-l", "app=web", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr


@pytest.mark.parametrize("image_type", ["UBUNTU_CONTAINERD"])
def test_driver_installer_daemonset_makes_gpus_allocatable(lab, image_type):
    """A pool with INSTALLATION_DISABLED: no GPU until the driver-installer DaemonSet's pod runs."""
    container = discovery.build("container", "v1", credentials=Credentials(lab.endpoints["token"]),
                                client_options={"api_endpoint": lab.endpoints["gke"] + "/"},
                                static_discovery=True, cache_discovery=False)
    parent = "projects/kserve-lab/locations/us-central1-a/clusters/lab"
    pool = {"name": "manual", "initialNodeCount": 1, "config": {
        "machineType": "n1-standard-4", "imageType": image_type, "accelerators": [
            {"acceleratorCount": "1", "acceleratorType": "nvidia-tesla-t4",
             "gpuDriverInstallationConfig": {"gpuDriverVersion": "INSTALLATION_DISABLED"}}]}}
    op = container.projects().locations().clusters().nodePools().create(parent=parent, body={"nodePool": pool}) \
        .execute()
    while op["status"] != "DONE":
        time.sleep(0.2)
        op = container.projects().locations().operations().get(
            name="projects/kserve-lab/locations/us-central1-a/operations/" + op["name"]).execute()
    env = lab.client_env()
    time.sleep(1)
    nodes = json.loads(kubectl(env, "get", "nodes", "-l", "cloud.google.com/gke-nodepool=manual", "-o",
                               "json").stdout)["items"]
    assert nodes and "nvidia.com/gpu" not in nodes[0]["status"]["allocatable"]
    daemonset = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-driver-installer, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: nvidia-driver-installer}}
  template:
    metadata: {labels: {k8s-app: nvidia-driver-installer}}
    spec:
      tolerations: [{operator: Exists}]
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - {key: cloud.google.com/gke-accelerator, operator: Exists}
                  - {key: cloud.google.com/gke-gpu-driver-version, operator: DoesNotExist}
      containers: [{name: installer, image: gke-nvidia-installer}]
"""
    apply(env, daemonset)
    wait = kubectl(env, "-n", "kube-system", "wait", "--for=jsonpath={.status.numberReady}=1",
                   "daemonset/nvidia-driver-installer", "--timeout=30s")
    assert wait.returncode == 0, wait.stderr
    name = nodes[0]["metadata"]["name"]
    wait = kubectl(env, "wait", "--for=jsonpath={.status.allocatable.nvidia\\.com/gpu}=1", "node/" + name,
                   "--timeout=30s")
    assert wait.returncode == 0, wait.stderr


def test_objects_survive_a_lab_restart(lab, cluster):  # noqa: F811
    apply(cluster, CONFIGMAP % "kube-system")
    before = json.loads(kubectl(cluster, "-n", "kube-system", "get", "configmap/settings", "-o", "json").stdout)
    lab.run("down")
    lab.run("up", "--idle-timeout", "600")
    after = json.loads(kubectl(cluster, "-n", "kube-system", "get", "configmap/settings", "-o", "json").stdout)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert kubectl(cluster, "get", "validatingwebhookconfiguration/widgets-check").returncode == 0
    daemonset = kubectl(cluster, "-n", "kube-system", "get", "daemonset/nvidia-driver-installer", "-o",
                        "jsonpath={.status.numberReady}")
    assert daemonset.stdout == "1"
    created = kubectl(cluster, "-n", "demo", "create", "-f", "-", stdin=CONFIGMAP.replace("settings", "later")
                      % "demo")
    assert created.returncode == 0, created.stderr  # the webhook's endpoints came back too
