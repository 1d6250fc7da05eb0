# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KServe's serving, simulated where it matters to the roles and real where the model answers: KServe's choices as
pure functions, and what every cluster shares (GCS, IAM, the model server processes, the gateways). Its controller
and the kubelet's part run as clients of each cluster's API (kserve.py); its webhooks in webhooks.py.

- The KServe controller's decision (plan()): picks a ClusterServingRuntime (or a ServingRuntime of
  the namespace) that supports the predictor's model format, or reports KServe's NoSupportingRuntime /
  RuntimeNotRecognized / RuntimeDisabled; makes the predictor's Deployment and Service (in Knative mode
  named as Knative names a revision's, `<name>-predictor-00001-deployment`; in Standard mode
  `<name>-predictor`) with the storage-initializer init container and the runtime's kserve-container;
  and reports conditions, `modelStatus` with `lastFailureInfo`, `status.url` and the components, from
  what the predictor Pods do.
- KServe's validating webhook (webhook_errors()): one predictor, a valid name, replicas and canary bounds, and
  the TensorFlow GPU image rule.
- The storage initializer (ServingPlatform.download, run by the kubelet): reads the storageUri from the lab's GCS as the Pod's
  identity: with Workload Identity, the Google service account its Kubernetes ServiceAccount is
  annotated with, when the account's policy lets that ServiceAccount act as it; otherwise the
  ServiceAccount's own principal. The bucket's IAM policy must grant that identity (or allUsers)
  object read, as GCS does. Failures fail the init container with google-cloud-storage's message.
- The kserve-container: the lab's TF-Serving-like model server (model_server.py) in a process of its
  own, serving the downloaded model; the Pod is Ready once the model is AVAILABLE.
- The Istio ingress gateway (Routes): once its LoadBalancer Service has an address and its Pods are ready, an
  HTTP proxy on that address, port 80, routes by Host header to the Ready predictors, as Envoy does:
  404 with no body for an unknown host, 503 "no healthy upstream" when no predictor Pod is ready; GKE's load
  balancer for an Ingress likewise, by its rules and health check (gke_ingress.py).

Not simulated: scale to zero and the activator (minReplicas 0 runs one Pod), canary revisions (the
traffic split is reported, all traffic goes to the latest revision), transformers and explainers.
"""

from __future__ import annotations

import copy
import http.client
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import quote, urlsplit

from . import gke_ingress
from .core import LabServer
from .kubelet import pod_ready
from .releases import ISVC_POD_LABEL as ISVC_LABEL
from .watching import timestamp

GROUP = "serving.kserve.io"
FINALIZER = "inferenceservice.finalizers"
STORAGE_INIT = "storage-initializer"
MODEL_DIR = "/mnt/models"
WI_ANNOTATION = "iam.gke.io/gcp-service-account"
READ_ROLES = frozenset(("roles/storage.objectViewer", "roles/storage.objectUser", "roles/storage.objectAdmin",
                        "roles/storage.admin"))
PUBLIC = ("allUsers", "allAuthenticatedUsers")
PREDICTOR_KINDS = ("model", "tensorflow", "sklearn", "xgboost", "pytorch", "triton", "onnx", "huggingface",
                   "lightgbm", "paddle", "pmml")
NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
GPU_SUFFIX = "-gpu"
STORAGE_RETRY = 10  # real seconds before the kubelet restarts a failed init container


class StorageError(Exception):
    """The storage initializer failed: its log lines, and the message it terminates with."""

    def __init__(self, message, log_lines):
        super().__init__(message)
        self.message, self.log_lines = message, log_lines

    @classmethod
    def traceback(cls, message, log_lines):
        """The initializer died on an exception: its log ends with the traceback's last line."""
        return cls(message, log_lines + ["Traceback (most recent call last):", message])


# --- pure functions: what the controller and the webhook decide ---------------
def predictor(isvc):
    """The predictor's settings, from `predictor.model` or a framework field (`predictor.tensorflow`)."""
    spec = ((isvc.get("spec") or {}).get("predictor")) or {}
    kind = next((k for k in PREDICTOR_KINDS if isinstance(spec.get(k), dict)), None)
    model = spec.get(kind) or {}
    fmt = model.get("modelFormat") or {}
    return {
        "kind": kind, "format": fmt.get("name") or (kind if kind not in (None, "model") else None),
        "format_version": fmt.get("version"), "runtime": model.get("runtime"),
        "runtime_version": model.get("runtimeVersion"), "storage_uri": model.get("storageUri"),
        "protocol": model.get("protocolVersion"), "resources": model.get("resources") or {},
        "readiness_probe": model.get("readinessProbe"),
        "service_account": spec.get("serviceAccountName") or "default",
        "min_replicas": spec.get("minReplicas"), "max_replicas": spec.get("maxReplicas"),
        "canary": spec.get("canaryTrafficPercent"), "node_selector": spec.get("nodeSelector") or {},
        "tolerations": spec.get("tolerations") or [], "count": sum(1 for k in PREDICTOR_KINDS if k in spec),
    }


def gpus(resources):
    wanted = (resources.get("limits") or {}).get("nvidia.com/gpu") or (resources.get("requests") or {}).get(
        "nvidia.com/gpu")
    return int(wanted or 0)


def webhook_errors(isvc):
    """What KServe's validating webhook refuses, in its words."""
    errors = []
    name = isvc["metadata"]["name"]
    if not NAME_RE.match(name):
        errors.append("The InferenceService \"%s\" is invalid: a InferenceService name must consist of lower case "
                      "alphanumeric characters or '-', and must start with alphabetical character. (e.g. \"my-name\" "
                      "or \"abc-123\", regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')" % name)
    pred = predictor(isvc)
    if pred["count"] != 1:
        errors.append("Exactly one of [Custom, ONNX, Tensorflow, Triton, SKLearn, XGBoost, Model] must be specified "
                      "in PredictorSpec")
    low, high = pred["min_replicas"], pred["max_replicas"]
    if low is not None and int(low) < 0:
        errors.append("MinReplicas cannot be less than 0.")
    if high is not None and int(high) < 0:
        errors.append("MaxReplicas cannot be less than 0.")
    if low is not None and high is not None and int(high) and int(low) > int(high):
        errors.append("MinReplicas cannot be greater than MaxReplicas.")
    if pred["canary"] is not None and not 0 <= int(pred["canary"]) <= 100:
        errors.append("The traffic percent must be between [0, 100].")
    if pred["kind"] == "tensorflow" and pred["runtime_version"]:
        gpu_tag = pred["runtime_version"].endswith(GPU_SUFFIX)
        if gpus(pred["resources"]) and not gpu_tag:
            errors.append("Tensorflow RuntimeVersion is not GPU enabled but GPU resources are requested")
        if gpu_tag and not gpus(pred["resources"]):
            errors.append("Tensorflow RuntimeVersion is GPU enabled but GPU resources are not requested")
    return errors


def select_runtime(pred, runtimes):
    """(runtime, None) or (None, (reason, message)): KServe's choice among the runtimes, which are
    ServingRuntimes of the namespace first, then ClusterServingRuntimes."""
    if pred["runtime"]:
        found = next((r for r in runtimes if r["metadata"]["name"] == pred["runtime"]), None)
        if found is None:
            return None, ("RuntimeNotRecognized", "Waiting for runtime to become available")
        if (found.get("spec") or {}).get("disabled"):
            return None, ("RuntimeDisabled", "Specified runtime is disabled")
        if not any(f.get("name") == pred["format"] for f in found["spec"].get("supportedModelFormats") or []):
            return None, ("NoSupportingRuntime", "Specified runtime does not support specified framework/version")
        return found, None
    candidates = []
    for runtime in runtimes:
        spec = runtime.get("spec") or {}
        if spec.get("disabled"):
            continue
        protocols = spec.get("protocolVersions") or ["v1"]
        if pred["protocol"] and pred["protocol"] not in protocols:
            continue
        for fmt in spec.get("supportedModelFormats") or []:
            if fmt.get("name") == pred["format"] and fmt.get("autoSelect") and (
                    not pred["format_version"] or str(fmt.get("version")) == str(pred["format_version"]).split(".", maxsplit=1)[0]):
                candidates.append((-int(fmt.get("priority") or 0), runtime))
                break
    if not candidates:
        return None, ("NoSupportingRuntime", "No runtime found to support specified framework/version")
    return min(candidates, key=lambda c: c[0])[1], None


def image_for(runtime, pred):
    """The runtime's image, with runtimeVersion as its tag and KServe's -gpu tag when GPUs are asked for."""
    image = runtime["spec"]["containers"][0].get("image", "")
    repo, _sep, tag = image.rpartition(":")
    tag = pred["runtime_version"] or tag
    if gpus(pred["resources"]) and not tag.endswith(GPU_SUFFIX):
        tag += GPU_SUFFIX
    return "%s:%s" % (repo, tag) if repo else image


def predictor_names(name, mode):
    """(Deployment, Service) names of the predictor: Knative's revision names in Knative mode."""
    if mode == "Knative":
        return "%s-predictor-00001-deployment" % name, "%s-predictor-00001-private" % name
    return "%s-predictor" % name, "%s-predictor" % name


def pod_template(isvc, pred, runtime, storage_image, mode):
    name = isvc["metadata"]["name"]
    container = copy.deepcopy(runtime["spec"]["containers"][0])
    container["name"] = "kserve-container"
    container["image"] = image_for(runtime, pred)
    container["args"] = [a.replace("{{.Name}}", name) for a in container.get("args") or []]
    resources = copy.deepcopy(container.get("resources") or {})
    for part in ("requests", "limits"):
        if (pred["resources"].get(part)):
            resources[part] = dict(resources.get(part) or {}, **pred["resources"][part])
    container["resources"] = resources
    if pred["readiness_probe"]:
        container["readinessProbe"] = pred["readiness_probe"]
    elif mode == "Standard":  # KServe's deployment reconciler: a TCP probe on the serving port
        container["readinessProbe"] = {"tcpSocket": {"port": 8080}, "timeoutSeconds": 1, "periodSeconds": 10,
                                       "successThreshold": 1, "failureThreshold": 3}
    labels = {ISVC_LABEL: name, "component": "predictor", "app": "%s-predictor" % name}
    if mode == "Knative":
        labels["serving.knative.dev/revision"] = "%s-predictor-00001" % name
    return {
        "metadata": {"labels": labels, "annotations": {
            "internal.serving.kserve.io/storage-initializer-sourceuri": pred["storage_uri"] or ""}},
        "spec": {
            "serviceAccountName": pred["service_account"],
            **({"nodeSelector": pred["node_selector"]} if pred["node_selector"] else {}),
            **({"tolerations": pred["tolerations"]} if pred["tolerations"] else {}),
            "initContainers": [{"name": STORAGE_INIT, "image": storage_image,
                                "args": [pred["storage_uri"] or "", MODEL_DIR],
                                "terminationMessagePolicy": "FallbackToLogsOnError"}],
            "containers": [container],
        },
    }


def model_status(pods, ready):
    """KServe's modelStatus, read from the predictor Pods (its pod-inspection rules)."""
    failed = []
    for pod in pods:
        for status in (pod.get("status") or {}).get("initContainerStatuses") or []:
            state = status.get("state") or {}
            term = state.get("terminated") or (status.get("lastState") or {}).get("terminated") or {}
            if status.get("name") == STORAGE_INIT and (
                    term.get("reason") == "Error" or (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff"):
                failed.append((pod, term))
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            term = (status.get("state") or {}).get("terminated") or {}
            if status.get("name") == "kserve-container" and term.get("reason") == "Error":
                failed.append((pod, term))
    if ready:
        return {"transitionStatus": "UpToDate", "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
                "copies": {"failedCopies": 0, "totalCopies": sum(1 for p in pods if pod_ready(p))}}
    if failed:
        pod, term = failed[0]
        return {"transitionStatus": "BlockedByFailedLoad",
                "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
                "lastFailureInfo": {"location": pod["metadata"]["name"], "reason": "ModelLoadFailed",
                                    "message": term.get("message", ""), "exitCode": term.get("exitCode", 1)},
                "copies": {"failedCopies": len(failed), "totalCopies": 0}}
    loading = any("running" in (s.get("state") or {}) for p in pods
                  for s in (p.get("status") or {}).get("initContainerStatuses") or [])
    return {"transitionStatus": "InProgress",
            "states": {"activeModelState": "", "targetModelState": "Loading" if loading else "Pending"},
            "copies": {"failedCopies": 0, "totalCopies": 0}}


def _is_gateway(svc):
    """An Istio ingress gateway's Service: it selects the gateway's Envoy Pods."""
    return ((svc.get("spec") or {}).get("selector") or {}).get("istio") == "ingressgateway"


def conditions(mode, ready, waiting_reason, waiting_message, stamp):
    """The InferenceService's conditions; all True when ready, else the predictor's reason."""
    types = ["IngressReady", "LatestDeploymentReady", "PredictorReady", "Ready"]
    if mode == "Knative":
        types = ["IngressReady", "LatestDeploymentReady", "PredictorConfigurationReady", "PredictorReady",
                 "PredictorRouteReady", "Ready"]
    out = []
    for kind in types:
        if ready:
            out.append({"type": kind, "status": "True", "lastTransitionTime": stamp})
        elif kind in ("IngressReady",) and waiting_reason not in ("NoSupportingRuntime", "RuntimeNotRecognized",
                                                                  "RuntimeDisabled"):
            out.append({"type": kind, "status": "False", "reason": "PredictorNotReady",
                        "message": "Predictor ingress not created", "lastTransitionTime": stamp})
        else:
            out.append({"type": kind, "status": "False", "reason": waiting_reason, "message": waiting_message,
                        "lastTransitionTime": stamp, **({"severity": "Info"} if kind == "LatestDeploymentReady" else {})})
    return out


def read_config(data):
    """KServe's inferenceservice-config ConfigMap data as {key: parsed JSON} (a key that does not parse: {})."""
    parsed = {}
    for key, value in (data or {}).items():
        try:
            parsed[key] = json.loads(value or "{}")
        except ValueError:
            parsed[key] = {}
    return parsed


def deployment_mode(isvc, config):
    mode = (isvc["metadata"].get("annotations") or {}).get("serving.kserve.io/deploymentMode") or \
        (config.get("deploy") or {}).get("defaultDeploymentMode") or "Knative"
    return {"Serverless": "Knative", "RawDeployment": "Standard"}.get(mode, mode)


def host_for(isvc, mode, config, knative_domains):
    """The InferenceService's host: `<name>.<ns>.<domain>` from Knative's config-domain (its keys), or KServe's
    domainTemplate over ingressDomain."""
    name, ns = isvc["metadata"]["name"], isvc["metadata"]["namespace"]
    if mode == "Knative":
        domains = [d for d in knative_domains if not d.startswith("_")]
        return "%s.%s.%s" % (name, ns, domains[0] if domains else "svc.cluster.local")
    ingress = config.get("ingress") or {}
    template = ingress.get("domainTemplate") or "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"
    return (template.replace("{{ .Name }}", name).replace("{{ .Namespace }}", ns)
            .replace("{{ .IngressDomain }}", ingress.get("ingressDomain") or "example.com"))


def predictor_selector(name):
    """The label selector of an InferenceService's predictor Pods."""
    return "%s=%s,component=predictor" % (ISVC_LABEL, name)


def ingress_for(isvc, service, host, config, owner):
    """Standard mode: the Ingress KServe's raw ingress reconciler makes (v0.20.0): named after the
    InferenceService, with its annotations, spec.ingressClassName from the ingress config when one is set,
    and a rule per host (the InferenceService's and its predictor's) to the predictor Service, port 80."""
    name, ns = isvc["metadata"]["name"], isvc["metadata"]["namespace"]
    klass = (config.get("ingress") or {}).get("ingressClassName")
    hosts = [host, host.replace(name + "-", name + "-predictor-", 1)]
    spec = {"rules": [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": service, "port": {"number": 80}}}}]}} for h in hosts]}
    if klass is not None:
        spec = dict({"ingressClassName": klass}, **spec)
    meta = {"name": name, "namespace": ns, "ownerReferences": owner}
    annotations = dict(isvc["metadata"].get("annotations") or {})
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def plan(isvc, runtimes, config, knative_served, knative_domains, pods):
    """What KServe's controller (v0.20.0) wants for an InferenceService, given the ServingRuntimes of its namespace
    and the ClusterServingRuntimes, read_config()'s configuration, whether Knative's Service kind is served, Knative's
    domains and the predictor's Pods: (children, status). children is a list of the Deployment, Service and (Standard
    mode, unless disabled) Ingress to make or update: empty when nothing can be made (Knative not installed), None
    when what was made must go (no runtime serves the spec)."""
    name, ns = isvc["metadata"]["name"], isvc["metadata"]["namespace"]
    mode, pred, stamp = deployment_mode(isvc, config), predictor(isvc), timestamp()
    generation = isvc["metadata"].get("generation", 1)
    runtime, failure = select_runtime(pred, runtimes)
    if failure:
        reason, message = failure
        return None, {"observedGeneration": generation, "conditions": conditions(mode, False, reason, message, stamp),
                      "modelStatus": {"transitionStatus": "InvalidSpec", "states": {
                          "activeModelState": "", "targetModelState": "FailedToLoad"},
                          "lastFailureInfo": {"reason": reason, "message": message},
                          "copies": {"failedCopies": 0, "totalCopies": 0}}}
    if mode == "Knative" and not knative_served:
        message = 'fails to reconcile predictor: no matches for kind "Service" in version "serving.knative.dev/v1"'
        return [], {"observedGeneration": generation,
                    "conditions": conditions(mode, False, "InternalError", message, stamp)}
    storage_image = (config.get("storageInitializer") or {}).get("image") or "kserve/storage-initializer:latest"
    deploy_name, svc_name = predictor_names(name, mode)
    template = pod_template(isvc, pred, runtime, storage_image, mode)
    replicas = max(1, int(pred["min_replicas"] if pred["min_replicas"] is not None else 1))
    owner = [{"apiVersion": isvc["apiVersion"], "kind": "InferenceService", "name": name,
              "uid": isvc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    labels = dict(template["metadata"]["labels"])
    children = [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": deploy_name, "namespace": ns, "labels": labels, "ownerReferences": owner},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {ISVC_LABEL: name, "component": "predictor"}},
                  "template": template}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": svc_name, "namespace": ns, "labels": labels, "ownerReferences": owner},
         "spec": {"selector": {ISVC_LABEL: name, "component": "predictor"},
                  "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}]
    host = host_for(isvc, mode, config, knative_domains)
    if mode == "Standard" and not (config.get("ingress") or {}).get("disableIngressCreation"):
        children.append(ingress_for(isvc, svc_name, host, config, owner))
    ready = bool(pods) and any(pod_ready(p) for p in pods)
    status = {"observedGeneration": generation, "deploymentMode": mode, "modelStatus": model_status(pods, ready)}
    revision = "%s-predictor-00001" % name
    if ready:
        status["conditions"] = conditions(mode, True, None, None, stamp)
        status["url"] = "http://" + host
        status["address"] = {"url": "http://%s.%s.svc.cluster.local" % (
            name if mode == "Knative" else "%s-predictor" % name, ns)}
        component = {"url": "http://" + host.replace(name + ".", name + "-predictor.", 1)
                     if mode == "Knative" else "http://" + host.replace(name + "-", name + "-predictor-", 1)}
        if mode == "Knative":
            component.update(latestCreatedRevision=revision, latestReadyRevision=revision,
                             latestRolledoutRevision=revision,
                             traffic=[{"revisionName": revision, "latestRevision": True, "percent": 100}])
        status["components"] = {"predictor": component}
    else:
        reason, message = waiting(pods, status["modelStatus"], revision, mode)
        status["conditions"] = conditions(mode, False, reason, message, stamp)
        if mode == "Knative":
            status["components"] = {"predictor": {"latestCreatedRevision": revision}}
        for kept in ("url", "address"):  # a route, once made, keeps its URL while the predictor is down
            if (isvc.get("status") or {}).get(kept):
                status[kept] = isvc["status"][kept]
    return children, status


def waiting(pods, model, revision, mode):
    """(reason, message) the conditions give while the predictor is not ready."""
    info = model.get("lastFailureInfo")
    if info:
        return ("RevisionFailed" if mode == "Knative" else "ModelLoadFailed",
                'Revision "%s" failed with message: %s' % (revision, info["message"]) if mode == "Knative"
                else info["message"])
    for pod in pods:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return "Unschedulable", cond.get("message", "")
    if mode == "Knative":
        return "RevisionMissing", 'Configuration "%s-predictor" is waiting for a Revision to become ready.' % (
            revision.rsplit("-predictor-", 1)[0])
    return "MinimumReplicasUnavailable", "Deployment does not have minimum availability."


def status_changed(old, new):
    """Whether an InferenceService's status differs, the conditions' transition times aside."""
    def timeless(value):
        return dict(value, conditions=[{k: v for k, v in c.items() if k != "lastTransitionTime"}
                                       for c in value.get("conditions") or []])
    return timeless(old or {}) != timeless(new)


def bucket_readable(policy, members):
    """Whether a bucket IAM policy lets any of members list and read objects."""
    for binding in (policy or {}).get("bindings") or []:
        if binding.get("role") in READ_ROLES and set(binding.get("members") or []) & set(members):
            return True
    return False


def split_gs(uri):
    match = re.match(r"^gs://([^/]+)/?(.*)$", uri or "")
    if not match:
        raise ValueError(uri)
    return match.group(1), match.group(2).strip("/")


# --- the model server processes -------------------------------------------------
class ModelServers:
    """One model server process per predictor Pod, on 127.0.0.1; stopped with the Pod or the lab."""

    def __init__(self, state_dir, request_log, knobs):
        self.state_dir, self.request_log, self.knobs = state_dir, request_log, knobs
        self.lock = threading.Lock()
        self.procs = {}  # (cluster, namespace, pod) -> (Popen, port)

    @staticmethod
    def _free_port():
        import socket  # pylint: disable=import-outside-toplevel
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def start(self, key, model_name, base_path):
        with self.lock:
            running = self.procs.get(key)
            if running and running[0].poll() is None:
                return running[1]
            port = self._free_port()
            env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       TF_CPP_MIN_LOG_LEVEL="2")
            log_path = os.path.join(os.path.dirname(base_path), "kserve-container.log")
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(  # pylint: disable=consider-using-with
                    [sys.executable, "-m", "kserve_lab.model_server", "--model_name=" + model_name,
                     "--model_base_path=" + base_path, "--rest_api_port=%d" % port,
                     "--request_log=" + self.request_log, "--parent_pid=%d" % os.getpid(),
                     "--knobs=" + json.dumps(self.knobs.as_dict())],
                    stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            self.procs[key] = (proc, port)
            return port

    def port(self, key):
        entry = self.procs.get(key)
        return entry[1] if entry and entry[0].poll() is None else None

    def state(self, key, model_name):
        """The model's state as its server reports it: AVAILABLE, LOADING, END (with error), or DOWN."""
        port = self.port(key)
        if port is None:
            return "DOWN", "the model server exited"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v1/models/" + quote(model_name))
            body = json.loads(conn.getresponse().read() or b"{}")
            conn.close()
        except (OSError, ValueError):
            return "LOADING", ""
        status = (body.get("model_version_status") or [{}])[0]
        return status.get("state", "LOADING"), (status.get("status") or {}).get("error_message", "")

    def stop(self, key):
        with self.lock:
            entry = self.procs.pop(key, None)
        if entry:
            entry[0].terminate()
            try:
                entry[0].wait(5)
            except subprocess.TimeoutExpired:
                entry[0].kill()
                entry[0].wait(5)

    def stop_all(self):
        for key in list(self.procs):
            self.stop(key)


# --- the ingress gateway ------------------------------------------------------------
class GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "istio-envoy"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _proxy(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        self.server.last_request = time.monotonic()
        status, payload, headers = self.server.route(self.command, host, self.path, body)
        self.server.log.record("ingress", self.command, self.path, status, host=host)
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):  # noqa: N802
        self._proxy()

    def do_POST(self):  # noqa: N802
        self._proxy()


class Gateway(LabServer):
    def __init__(self, address, route, log, knobs):
        super().__init__(address, GatewayHandler, "ingress", log, knobs)
        self.route = route


# --- the shared platform and one cluster's serving -----------------------------------------
class ServingPlatform:
    """What every cluster's serving shares: the lab's GCS and IAM, the model server processes, and the
    gateways (one per LoadBalancer address)."""

    def __init__(self, state_dir, log, request_log_path, knobs):
        self.state_dir, self.log, self.knobs = state_dir, log, knobs
        self.storage = self.iam = None  # set by the server once GCS and IAM exist
        self.project_numbers = {}
        self.servers = ModelServers(state_dir, request_log_path, knobs)
        self.gateways = {}  # address -> (Gateway, the cluster serving that owns it, its router)
        self.lock = threading.Lock()

    def open_gateway(self, address, serving, router):
        """Listen on a load balancer's address; requests go to router(method, host, path, body)."""
        with self.lock:
            if address in self.gateways:
                self.gateways[address] = (self.gateways[address][0], serving, router)
                return
            try:
                gateway = Gateway((address, 80), lambda *a, addr=address: self.gateways[addr][2](*a), self.log,
                                  self.knobs)
            except OSError as exc:
                print("lab: the ingress gateway cannot listen on %s:80: %s" % (address, exc), file=sys.stderr)
                return
            threading.Thread(target=gateway.serve_forever, daemon=True).start()
            self.gateways[address] = (gateway, serving, router)

    def close_gateways(self, serving=None):
        with self.lock:
            for address, (gateway, owner, _router) in list(self.gateways.items()):
                if serving is None or owner is serving:
                    gateway.shutdown()
                    gateway.server_close()
                    del self.gateways[address]

    def stop(self):
        self.close_gateways()
        self.servers.stop_all()

    def download(self, cluster, project, ns, ksa, uri, dest):
        """The storage initializer: copy gs://bucket/prefix/* to dest as the Pod's identity.
        Returns the log lines; raises StorageError as the initializer fails."""
        lines = ["INFO:root:Initializing, args: src_uri [%s] dest_path[ [%s]" % (uri, MODEL_DIR),
                 "INFO:kserve.storage:Copying contents of %s to local" % uri]
        try:
            bucket, prefix = split_gs(uri)
        except ValueError:
            raise StorageError("Cannot recognize storage type for %s\n'gs://', 's3://', 'hdfs://', 'webhdfs://', "
                               "'https://', 'http://' are the current available storage type." % uri, lines) from None
        member, why = self.identity(cluster, project, ns, ksa)
        listing = "GET https://storage.googleapis.com/storage/v1/b/%s/o?projection=noAcl&prefix=%s&prettyPrint=false" % (
            bucket, quote(prefix + "/" if prefix else "", safe=""))
        if member is None:
            raise StorageError.traceback(why, lines)
        storage = self.storage
        if bucket not in storage.buckets:
            self.log.record("gcs", "GET", "/storage/v1/b/%s/o" % bucket, 404, principal=member, via="storage-initializer")
            message = "google.api_core.exceptions.NotFound: 404 %s: The specified bucket does not exist." % listing
            raise StorageError.traceback(message, lines)
        policy = storage.get_bucket_iam_policy(bucket) or {}
        if not bucket_readable(policy, [member] + list(PUBLIC)):
            self.log.record("gcs", "GET", "/storage/v1/b/%s/o" % bucket, 403, principal=member, via="storage-initializer")
            message = ("google.api_core.exceptions.Forbidden: 403 %s: %s does not have storage.objects.list access "
                       "to the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or "
                       "it may not exist).") % (listing, member.replace("serviceAccount:", "", 1))
            raise StorageError.traceback(message, lines)
        self.log.record("gcs", "GET", "/storage/v1/b/%s/o" % bucket, 200, principal=member, via="storage-initializer")
        objects, _prefixes = storage.get_file_list(bucket, prefix=prefix + "/" if prefix else None)
        objects = [o for o in objects if not o["name"].endswith("/")]
        if not objects:
            message = "RuntimeError: Failed to fetch model. No model found in %s." % uri
            raise StorageError.traceback(message, lines)
        shutil.rmtree(dest, ignore_errors=True)
        for obj in objects:
            rel = obj["name"][len(prefix) + 1:] if prefix else obj["name"]
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(storage.get_file(bucket, obj["name"]))
            self.log.record("gcs", "GET", "/storage/v1/b/%s/o/%s" % (bucket, quote(obj["name"], safe="")), 200,
                            principal=member, via="storage-initializer")
            lines.append("INFO:kserve.storage:Downloaded: gs://%s/%s -> %s" % (
                bucket, obj["name"], os.path.join(MODEL_DIR, rel)))
        lines.append("INFO:kserve.storage:Successfully copied %s to %s" % (uri, MODEL_DIR))
        return lines

    def identity(self, cluster, project, ns, ksa):
        """(member, None) the Pod reads GCS as, or (None, the metadata server's error)."""
        pool = (cluster.get("workloadIdentityConfig") or {}).get("workloadPool")
        ksa_name = ksa["metadata"]["name"] if ksa else "default"
        if not pool:
            account = ((cluster.get("nodeConfig") or {}).get("serviceAccount") or "default")
            if account == "default":
                account = "%s-compute@developer.gserviceaccount.com" % self.project_numbers.get(project, "123456789012")
            return "serviceAccount:" + account, None
        gsa = ((ksa or {}).get("metadata", {}).get("annotations") or {}).get(WI_ANNOTATION)
        if not gsa:
            return ("principal://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s/subject/"
                    "ns/%s/sa/%s" % (self.project_numbers.get(project, "123456789012"), pool, ns, ksa_name)), None
        wi_member = "serviceAccount:%s[%s/%s]" % (pool, ns, ksa_name)
        iam = self.iam
        with iam.lock:
            exists = gsa in iam.accounts
            bindings = (iam.policies.get(gsa) or {}).get("bindings") or []
        allowed = any(b.get("role") == "roles/iam.workloadIdentityUser" and wi_member in (b.get("members") or [])
                      for b in bindings)
        if exists and allowed:
            return "serviceAccount:" + gsa, None
        return None, ("google.auth.exceptions.RefreshError: (\"Failed to retrieve http://metadata.google.internal/"
                      "computeMetadata/v1/instance/service-accounts/default/token from the Google Compute Engine "
                      "metadata service. Status: 403 Response:\\nb'Unable to generate access token; IAM returned 403 "
                      "Forbidden: Permission \\\\'iam.serviceAccounts.getAccessToken\\\\' denied on resource (or it may "
                      "not exist).\\\\nThis error could be caused by a missing IAM policy binding on the target IAM "
                      "service account.\\\\nFor more information, refer to the Workload Identity documentation:\\\\n\\\\t"
                      "https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#authenticating_to\\\\n"
                      "\\\\n'\", <google.auth.transport.requests._Response object>)")


class Routes:
    """How a cluster's Istio ingress gateway and GKE's load balancers reach its model servers, as Envoy and Google's
    load balancer answer. Subclasses say how the cluster is read: gateway_ready(namespace, name) (the gateway
    Service has ready endpoints), inference_services(), ready_pods(namespace, selector) and read(kind, namespace,
    name) (a Service or Ingress, or None)."""

    def __init__(self, platform, key):
        self.platform, self.key = platform, key
        self.rr = itertools.count()

    def gateway_address(self, svc):
        """Open the gateway proxy once the Istio ingress gateway's LoadBalancer has its address."""
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if _is_gateway(svc) and ingress:
            key = (svc["metadata"]["namespace"], svc["metadata"]["name"])
            self.platform.open_gateway(ingress[0]["ip"], self, lambda *a, k=key: self.route(k, *a))

    def ingress_address(self, ingress):
        """Open GKE's load balancer for an Ingress once it has its address."""
        found = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if found:
            key = (ingress["metadata"]["namespace"], ingress["metadata"]["name"])
            self.platform.open_gateway(found[0]["ip"], self, lambda *a, k=key: self.route_ingress(k, *a))

    def route_ingress(self, key, method, host, path, body):
        """(status, body, headers) GKE's load balancer answers with, for an Ingress (namespace, name): the
        backend Service's ready Pods that pass its health check get the request."""
        backend = gke_ingress.backend_for(self.read("Ingress", *key) or {}, host)
        if backend is None:
            return 404, gke_ingress.DEFAULT_BACKEND_404, [("Content-Type", "text/plain")]
        svc = self.read("Service", key[0], backend[0]) or {}
        selector = ",".join("%s=%s" % kv for kv in sorted(((svc.get("spec") or {}).get("selector") or {}).items()))
        pods = self.ready_pods(key[0], selector) if selector else []
        ports = [port for port in (self._healthy_port(key[0], p) for p in pods) if port]
        if not ports:
            return 502, gke_ingress.NO_HEALTHY_BACKEND, [("Content-Type", "text/html; charset=UTF-8")]
        return self._forward(ports[next(self.rr) % len(ports)], method, path, body)

    def _healthy_port(self, ns, pod):
        """The model server port of a Pod that answers the load balancer's health check with 200, else None."""
        port = self.platform.servers.port(self.key + (ns, pod["metadata"]["name"]))
        if port is None:
            return None
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", gke_ingress.health_check_path(pod))
            healthy = conn.getresponse().status == 200
            conn.close()
        except OSError:
            return None
        return port if healthy else None

    def route(self, gateway, method, host, path, body):
        """(status, body, headers) the gateway Service (namespace, name) answers with for a request to host."""
        if not self.gateway_ready(*gateway):
            return 503, b"no healthy upstream", [("Content-Type", "text/plain")]
        target = None
        for isvc in self.inference_services():
            hosts = {urlsplit(u).hostname for u in (
                (isvc.get("status") or {}).get("url"),
                (((isvc.get("status") or {}).get("components") or {}).get("predictor") or {}).get("url")) if u}
            if host in hosts:
                target = isvc
                break
        if target is None:
            return 404, b"", []
        ns, name = target["metadata"]["namespace"], target["metadata"]["name"]
        pods = self.ready_pods(ns, "%s=%s" % (ISVC_LABEL, name))
        ports = [self.platform.servers.port(self.key + (ns, p["metadata"]["name"])) for p in pods]
        ports = [p for p in ports if p]
        if not ports:
            return 503, b"no healthy upstream", [("Content-Type", "text/plain")]
        return self._forward(ports[next(self.rr) % len(ports)], method, path, body)

    @staticmethod
    def _forward(port, method, path, body):
        """Send the request on to a model server; (status, body, headers) as a proxy passes them back."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
            answer = conn.getresponse()
            payload = answer.read()
            conn.close()
        except OSError:
            return 503, b"upstream connect error or disconnect/reset before headers. reset reason: connection failure", \
                [("Content-Type", "text/plain")]
        return answer.status, payload, [("Content-Type", answer.getheader("Content-Type", "application/json"))]

    def stop(self):
        self.platform.close_gateways(self)
        for key in list(self.platform.servers.procs):
            if key[:3] == self.key:
                self.platform.servers.stop(key)
