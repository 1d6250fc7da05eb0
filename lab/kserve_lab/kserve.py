# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KServe on a lab cluster's real control plane, as clients of its API: the controller, and what the kubelet does
for a predictor Pod.

The controller (KServeController), while a Pod of kserve-controller-manager (namespace kserve) is ready, for every
InferenceService:
- adds the finalizer `inferenceservice.finalizers`, and removes it once the InferenceService is deleted (Kubernetes'
  garbage collector then deletes what it owns); with the controller gone a deleted InferenceService stays
  Terminating, as on GKE;
- makes what serving.plan() decides (KServe v0.20.0's choices: the runtime, the predictor's Deployment and Service,
  in Standard mode the Ingress) with server-side apply, deletes it when no runtime serves the spec, and writes the
  status when it changed. In Knative mode the Deployment and Service are named as Knative names a revision's:
  Knative Serving's own controllers are not run, what they would make is made here.

A predictor Pod (one with the storage-initializer init container) on the lab's kubelet (Predictors):
- the storage initializer copies the storageUri from the lab's GCS as the Pod's Google identity
  (ServingPlatform.download: Workload Identity, IAM, the bucket's policy), or fails with google-cloud-storage's
  message, restarted with back-off (CrashLoopBackOff, BackOff events) until it succeeds;
- then kserve-container is the lab's model server (model_server.py) in a process of its own, and the Pod turns Ready
  once the model is AVAILABLE; a model that fails to load ends the container with the server's error;
- both containers' logs are what they printed; the process stops with the Pod (and the lab), and starts again
  after a lab restart.

The routes (ApiRoutes): the Istio ingress gateway's address and GKE's load balancers for Ingresses send requests to
those model servers (serving.Routes: by Host to a Ready InferenceService, or by an Ingress's rules to the Pods that
pass the load balancer's health check), reading the cluster through its API.
"""

from __future__ import annotations

import json
import os
import shutil
import threading

from .serving import (FINALIZER, GROUP, ISVC_LABEL, STORAGE_INIT, STORAGE_RETRY, Routes, StorageError, plan,
                      predictor_selector, read_config, status_changed)
from .kubelet import pod_ready
from .watching import Reconciler, custom_list, has_ready_endpoint, read_or_none

NAMESPACE, CONTROLLER = "kserve", "kserve-controller-manager"
MANAGER = "manager"  # the field manager KServe's controller writes with
KNATIVE_SERVICE_CRD = "services.serving.knative.dev"


class KServeController(Reconciler):
    """KServe's controller (see the module's docstring)."""

    def watched(self):
        from kubernetes.client import AppsV1Api, CoreV1Api, CustomObjectsApi
        custom = CustomObjectsApi(self.api)
        return [(custom.list_cluster_custom_object, (GROUP, "v1beta1", "inferenceservices")),
                (custom.list_cluster_custom_object, (GROUP, "v1alpha1", "clusterservingruntimes")),
                (custom.list_cluster_custom_object, (GROUP, "v1alpha1", "servingruntimes")),
                (AppsV1Api(self.api).list_namespaced_deployment, (NAMESPACE,)),
                (CoreV1Api(self.api).list_pod_for_all_namespaces, (), {"label_selector": ISVC_LABEL})]

    def reconcile(self):
        from kubernetes.client import ApiextensionsV1Api, CoreV1Api
        from kubernetes.client.exceptions import ApiException
        if not self.deployment_ready(NAMESPACE, CONTROLLER):
            return
        isvcs = self.custom_list(GROUP, "v1beta1", "inferenceservices")
        if not isvcs:
            return
        core = CoreV1Api(self.api)
        config = read_config((read_or_none(core.read_namespaced_config_map, "inferenceservice-config", NAMESPACE)
                              or {}).get("data"))
        domains = list(((read_or_none(core.read_namespaced_config_map, "config-domain", "knative-serving") or {}).get(
            "data") or {}))
        knative = read_or_none(ApiextensionsV1Api(self.api).read_custom_resource_definition,
                               KNATIVE_SERVICE_CRD) is not None
        cluster_runtimes = sorted(self.custom_list(GROUP, "v1alpha1", "clusterservingruntimes"),
                                  key=lambda r: r["metadata"]["name"])
        for isvc in isvcs:
            try:
                self._reconcile_one(core, isvc, config, domains, knative, cluster_runtimes)
            except ApiException as exc:
                if exc.status not in (404, 409):  # gone, or changed meanwhile: its event brings it back
                    raise

    def _reconcile_one(self, core, isvc, config, domains, knative, cluster_runtimes):
        from kubernetes.client import CustomObjectsApi
        custom = CustomObjectsApi(self.api)
        meta = isvc["metadata"]
        ns, name = meta["namespace"], meta["name"]
        finalizers = list(meta.get("finalizers") or [])

        def set_finalizers(wanted):
            custom.patch_namespaced_custom_object(GROUP, "v1beta1", ns, "inferenceservices", name, {"metadata": {
                "finalizers": wanted or None, "resourceVersion": meta["resourceVersion"]}})
        if meta.get("deletionTimestamp"):
            if FINALIZER in finalizers:  # cleaned up: what it owns goes with it (the garbage collector)
                set_finalizers([f for f in finalizers if f != FINALIZER])
            return
        if FINALIZER not in finalizers:
            set_finalizers(finalizers + [FINALIZER])
            return  # the write brings it back
        runtimes = sorted(self.custom_list(GROUP, "v1alpha1", "servingruntimes", ns),
                          key=lambda r: r["metadata"]["name"]) + cluster_runtimes
        pods = json.loads(core.list_namespaced_pod(ns, label_selector=predictor_selector(name),
                                                   _preload_content=False).data)["items"]
        children, status = plan(isvc, runtimes, config, knative, domains, pods)
        if children is None:
            self._delete_owned(ns, meta["uid"])
        for child in children or []:
            self._apply(child)
        if status_changed(isvc.get("status"), status):
            custom.replace_namespaced_custom_object_status(GROUP, "v1beta1", ns, "inferenceservices", name,
                                                           dict(isvc, status=status))

    def _kinds(self):
        from kubernetes.client import AppsV1Api, CoreV1Api, NetworkingV1Api
        apps, core, net = AppsV1Api(self.api), CoreV1Api(self.api), NetworkingV1Api(self.api)
        return {"Deployment": (apps.patch_namespaced_deployment, apps.list_namespaced_deployment,
                               apps.delete_namespaced_deployment),
                "Service": (core.patch_namespaced_service, core.list_namespaced_service,
                            core.delete_namespaced_service),
                "Ingress": (net.patch_namespaced_ingress, net.list_namespaced_ingress,
                            net.delete_namespaced_ingress)}

    def _apply(self, child):
        """Server-side apply as KServe's field manager: the API server's defaults do not count as a difference, and
        an apply that changes nothing writes nothing."""
        patch = self._kinds()[child["kind"]][0]
        patch(child["metadata"]["name"], child["metadata"]["namespace"], child, field_manager=MANAGER, force=True,
              _content_type="application/apply-patch+yaml")

    def _delete_owned(self, ns, uid):
        for _patch, lister, delete in self._kinds().values():
            for obj in json.loads(lister(ns, _preload_content=False).data)["items"]:
                if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or []):
                    delete(obj["metadata"]["name"], ns)


class Predictors:
    """What the lab's kubelet does for a predictor Pod (see the module's docstring). `platform` is the lab's
    ServingPlatform (GCS, IAM, the model server processes); `cluster()` the GKE twin's cluster."""

    def __init__(self, api, platform, key, cluster, knobs):
        self.api, self.platform, self.key, self.cluster, self.knobs = api, platform, key, cluster, knobs
        self.folder = os.path.join(platform.state_dir, "serving", "%s_%s_%s" % key)
        self.lock = threading.Lock()

    @staticmethod
    def handles(pod):
        return any(c.get("name") == STORAGE_INIT for c in pod["spec"].get("initContainers") or [])

    def pod_dir(self, ns, name):
        return os.path.join(self.folder, ns, name)

    def _proc(self, pod):
        return self.key + (pod["metadata"]["namespace"], pod["metadata"]["name"])

    def log(self, namespace, name, container):
        """What a predictor Pod's container printed, or None for a container that is not one of these."""
        path = os.path.join(self.pod_dir(namespace, name), container + ".log")
        if container not in (STORAGE_INIT, "kserve-container"):
            return None
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def _write_log(self, pod, container, lines):
        folder = self.pod_dir(pod["metadata"]["namespace"], pod["metadata"]["name"])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, container + ".log"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def step(self, pod, run, now):
        """Move the Pod on: run the storage initializer (again after its back-off), then the model server; set what
        its status says on `run`. Returns when to look again (monotonic), or None."""
        from kubernetes.client import CoreV1Api
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if not run.init_done:
            if run.init_retry_at and now < run.init_retry_at:
                return run.init_retry_at
            uri = pod["spec"]["initContainers"][0]["args"][0]
            ksa = json.loads(CoreV1Api(self.api).read_namespaced_service_account(
                pod["spec"].get("serviceAccountName") or "default", ns, _preload_content=False).data)
            try:
                lines = self.platform.download(self.cluster(), self.key[0], ns, ksa, uri,
                                               os.path.join(self.pod_dir(ns, name), "models"))
            except StorageError as exc:
                self._write_log(pod, STORAGE_INIT, exc.log_lines)
                run.init_failures.append(exc.message)
                run.init_retry_at = now + self.knobs.duration(STORAGE_RETRY)
                return run.init_retry_at
            self._write_log(pod, STORAGE_INIT, lines)
            run.init_done, run.init_failures = True, []
        if run.model_error:  # the container ended
            return None
        model = pod["metadata"]["labels"].get(ISVC_LABEL, name)
        if self.platform.servers.port(self._proc(pod)) is None and run.model_state == "AVAILABLE":
            run.restarts += 1  # the model server went (a lab restart): the container starts again, unready
        self.platform.servers.start(self._proc(pod), model, os.path.join(self.pod_dir(ns, name), "models"))
        state, error = self.platform.servers.state(self._proc(pod), model)
        run.model_state = state
        if state in ("END", "DOWN"):
            run.model_error = error or "the model server exited"
            with open(os.path.join(self.pod_dir(ns, name), "kserve-container.log"), "a", encoding="utf-8") as handle:
                handle.write(run.model_error + "\n")  # TF Serving prints why the model did not load
            return None
        # loading: look again soon; loaded: now and then (a server that dies makes the Pod unready)
        return now + (1 if state != "AVAILABLE" else 30)

    def gone(self, namespace, name):
        self.platform.servers.stop(self.key + (namespace, name))
        shutil.rmtree(self.pod_dir(namespace, name), ignore_errors=True)


class ApiRoutes(Routes):
    """serving.Routes over a cluster's API (see the module's docstring)."""

    def __init__(self, api, platform, key):
        super().__init__(platform, key)
        self.api = api

    def _core(self):
        from kubernetes.client import CoreV1Api
        return CoreV1Api(self.api)

    def gateway_ready(self, namespace, name):
        return has_ready_endpoint(self.api, namespace, name)

    def inference_services(self):
        return custom_list(self.api, GROUP, "v1beta1", "inferenceservices")

    def ready_pods(self, namespace, selector):
        pods = json.loads(self._core().list_namespaced_pod(namespace, label_selector=selector,
                                                           _preload_content=False).data)["items"]
        return [p for p in pods if pod_ready(p)]

    def read(self, kind, namespace, name):
        from kubernetes.client import NetworkingV1Api
        call = {"Service": self._core().read_namespaced_service,
                "Ingress": NetworkingV1Api(self.api).read_namespaced_ingress}[kind]
        return read_or_none(call, name, namespace)
