# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab's controllers on a real control plane share: watch some lists, and reconcile after any change,
as a Kubernetes controller's informers and work queue do (one queue item: everything)."""

from __future__ import annotations

import datetime
import json
import threading
import traceback


def timestamp(days=0):
    """Now (or `days` from now) as Kubernetes writes times: RFC 3339, UTC, whole seconds."""
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(core, obj, reason, message, component, kind="Warning", host=None):
    """Record a core/v1 Event about `obj` (a dict with apiVersion, kind and metadata), as `component` reports it."""
    now = timestamp()
    meta = obj["metadata"]
    source = {"component": component, **({"host": host} if host else {})}
    core.create_namespaced_event(meta["namespace"], {
        "metadata": {"generateName": meta["name"] + "."},
        "involvedObject": {"kind": obj.get("kind", "Pod"), "namespace": meta["namespace"], "name": meta["name"],
                           "uid": meta["uid"], "apiVersion": obj.get("apiVersion", "v1")},
        "reason": reason, "type": kind, "source": source, "message": message,
        "reportingComponent": component, "reportingInstance": host or "",
        "firstTimestamp": now, "lastTimestamp": now, "count": 1})


def read_or_none(call, *args):
    """An object a kubernetes client read function returns, as a dict; None when it does not exist."""
    from kubernetes.client.exceptions import ApiException
    try:
        return json.loads(call(*args, _preload_content=False).data)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def custom_list(api, group, version, plural, namespace=None):
    """The objects of a custom resource (of a namespace, or all); none while its CRD is not installed."""
    from kubernetes.client import CustomObjectsApi
    from kubernetes.client.exceptions import ApiException
    custom = CustomObjectsApi(api)
    try:
        answer = custom.list_namespaced_custom_object(group, version, namespace, plural, _preload_content=False) \
            if namespace else custom.list_cluster_custom_object(group, version, plural, _preload_content=False)
    except ApiException as exc:
        if exc.status == 404:
            return []
        raise
    return json.loads(answer.data)["items"]


def has_ready_endpoint(api, namespace, service):
    """Whether a Service has a ready endpoint (its EndpointSlices, which kube-controller-manager keeps)."""
    from kubernetes.client import DiscoveryV1Api
    slices = json.loads(DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        namespace, label_selector="kubernetes.io/service-name=" + service, _preload_content=False).data)["items"]
    return any((e.get("conditions") or {}).get("ready") for s in slices for e in s.get("endpoints") or [])


class Reconciler:
    """Subclasses give watched() (list functions of the kubernetes client, with their arguments and perhaps keyword
    arguments) and reconcile().
    A list whose resource does not exist yet (a CRD not installed) is watched again every few seconds."""

    def __init__(self, api, stopping):
        self.api, self.stopping = api, stopping
        self.dirty = threading.Event()

    def watched(self):
        raise NotImplementedError

    def reconcile(self):
        raise NotImplementedError

    def changed(self, index):
        """Called for every event of the index-th watched list, before the reconcile it brings."""

    def deployment_ready(self, namespace, name):
        """Whether a Deployment has a ready Pod: a component works while its Pod runs (Available alone is true at
        zero replicas)."""
        from kubernetes.client import AppsV1Api
        from kubernetes.client.exceptions import ApiException
        try:
            deploy = json.loads(AppsV1Api(self.api).read_namespaced_deployment(
                name, namespace, _preload_content=False).data)
        except ApiException:
            return False
        return int((deploy.get("status") or {}).get("readyReplicas") or 0) > 0

    def custom_list(self, group, version, plural, namespace=None):
        return custom_list(self.api, group, version, plural, namespace)

    def start(self):
        for index, (lister, args, *kwargs) in enumerate(self.watched()):
            threading.Thread(target=self._watch, args=(index, lister, args, *kwargs), daemon=True).start()
        threading.Thread(target=self._loop, daemon=True).start()
        self.dirty.set()

    def _watch(self, index, lister, args, kwargs=None):
        from kubernetes import watch
        while not self.stopping.is_set():
            try:
                for _event in watch.Watch().stream(lister, *args, timeout_seconds=60, **(kwargs or {})):
                    self.changed(index)
                    self.dirty.set()
            except Exception:  # pylint: disable=broad-except  # not installed yet, the API restarting or going
                if self.stopping.wait(2):
                    return

    def _loop(self):
        while not self.stopping.is_set():
            if not self.dirty.wait(1):
                continue
            self.dirty.clear()
            try:
                self.reconcile()
            except Exception:  # pylint: disable=broad-except  # logged; the next change tries again
                if not self.stopping.is_set():
                    traceback.print_exc()
