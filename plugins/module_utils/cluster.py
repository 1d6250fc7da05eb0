# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Kubernetes cluster as the collection's modules talk to it: the kubernetes Python client's dynamic client
(the one kubernetes.core builds on), with the kubeconfig and context of kubernetes.core's options, and every
request retried when that is safe.

Retries: urllib3's Retry, configured on the client's connection pool, retries a request on a dropped
connection and on 429, 500, 502, 503 and 504, honouring Retry-After, with exponential backoff. The requests
these modules make are safe to repeat: reads, server-side applies (the same apply twice is one apply) and
deletes (a repeated delete finds the object gone, which counts as done).
"""

from __future__ import annotations

import json
import re
import threading

try:
    import urllib3
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.discovery import LazyDiscoverer
    # DynamicApiError is for the modules to catch (they import it from here).
    from kubernetes.dynamic.exceptions import DynamicApiError  # pylint: disable=unused-import
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError
    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False

    class DynamicApiError(Exception):
        """Stands in for the client's, which the modules catch; never raised without the client."""

    class NotFoundError(DynamicApiError):
        """As above."""

    class ResourceNotFoundError(Exception):
        """As above."""

RETRY_STATUSES = (429, 500, 502, 503, 504)


# How a failed kubernetes.core module words what a retry may cure: the API server's 429 (priority and fairness)
# or 5xx, seen as "Exception '503\nReason: Service Unavailable" (older clients: "(503)"), or a connection dropped,
# refused or timed out while the control plane restarts (a zonal cluster's upgrade).
# kubernetes.core's k8s words a refused write as 'Failed to create object: {..., "code": 429}' with
# reason "Too Many Requests". And a 503 on a group's discovery is taken by the kubernetes client for an empty
# group (it swallows ServiceUnavailableError there, for aggregated APIs), so a kind installed a moment ago is
# "Failed to find exact match for cert-manager.io/v1.Issuer": the next attempt discovers again. (k8s_info
# answers a kind that is really missing with api_found: false, not with this failure.)
TRANSIENT_RE = re.compile(r"(?:^|[\s'(])(?:{codes})\)?\s*\n?\s*Reason:|\"code\": (?:{codes})\b|^(?:Too Many Requests|"
                          r"Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)$|Max retries exceeded|"
                          r"Connection (?:aborted|refused|reset)|RemoteDisconnected|timed out|ProtocolError|"
                          r"Failed to find exact match for "
                          .format(codes="|".join(str(s) for s in RETRY_STATUSES)))


def retryable_failure(result):
    """Whether a registered result of a Kubernetes read or idempotent write failed in a way a retry may cure.

    A module that crashed on the client's exception (kubernetes.core's k8s_cluster_info does on a 503) has no
    message yet where `until` looks: ansible-core 2.19 normalizes errors only after the retry loop
    (task_executor.py, "error normalization has not yet occurred"). Its error cannot be read there, so it counts as
    retryable; a lasting one fails after the retries, with its message.
    """
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    if result.get("status") in RETRY_STATUSES or result.get("error") in RETRY_STATUSES:
        return True
    if not result.get("msg") and result.get("exception"):
        return True
    return any(TRANSIENT_RE.search(str(result.get(key) or "")) for key in ("msg", "reason", "exception"))


class ClusterError(Exception):
    """A failure with a message a user can act on."""


class NotServed(Exception):
    """The API server serves no such kind (its CRD is missing)."""


def error_message(exc):
    """The API server's own message of a failed request, without a closing period (callers end the sentence)."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        message = json.loads(body).get("message") or str(body)
    except (TypeError, ValueError, AttributeError):
        message = str(body or exc)
    return message.rstrip(".")


class Cluster:
    """Reads and writes with one client; kinds are found by discovery, once."""

    def __init__(self, kubeconfig=None, context=None, retries=5, backoff=0.5):
        if not HAS_KUBERNETES:
            raise ClusterError("the kubernetes Python client is missing on the controller. Fix: pip install "
                               "kubernetes (kubernetes.core needs it too)")
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_kube_config(config_file=kubeconfig, context=context,
                                        client_configuration=configuration, persist_config=False)
        except (k8s_config.ConfigException, OSError, TypeError) as exc:
            raise ClusterError("cannot load kubeconfig %s (context %s): %s. Fix: run the gke_cluster role, which "
                               "writes it, or point kubeconfig and context at the cluster"
                               % (kubeconfig or "~/.kube/config", context or "current", exc)) from exc
        configuration.retries = urllib3.util.Retry(
            total=retries, connect=retries, read=retries, status=retries, other=0, backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES, allowed_methods=None, respect_retry_after_header=True,
            raise_on_status=False)
        self.api = k8s_client.ApiClient(configuration)
        self.dynamic = DynamicClient(self.api, discoverer=LazyDiscoverer)
        self.requests = 0
        self._resources = {}
        self._core = None
        self._count_lock = threading.Lock()

    @property
    def core(self):
        """The typed core API, for Pod logs only: made on first use, since building it loads every one of the
        client's model classes (about 0.4 s, paid by every module run otherwise)."""
        if self._core is None:
            self._core = k8s_client.CoreV1Api(self.api)
        return self._core

    def resource(self, api_version, kind):
        """The API resource of a kind; NotServed when no API serves it (discovery refreshed once first). A group
        version that discovery lists but answers 404 for (its CRDs being established or removed just then) counts
        as not served too, after the same refresh."""
        key = (api_version, kind)
        for attempt in (1, 2):
            if key in self._resources:
                break
            try:
                self._resources[key] = self.dynamic.resources.get(api_version=api_version, kind=kind)
            except (ResourceNotFoundError, NotFoundError) as exc:
                if attempt == 2:
                    raise NotServed("%s %s" % (api_version, kind)) from exc
                self.dynamic.resources.invalidate_cache()
        return self._resources[key]

    def _call(self, method, *args, **kwargs):
        with self._count_lock:  # k8s_component sends its dry runs from a few threads
            self.requests += 1
        return getattr(self.dynamic, method)(*args, **kwargs)

    def _locate(self, obj):
        """(resource, name, namespace) of an object (namespace None for a cluster-scoped kind); NotServed."""
        meta = obj.get("metadata") or {}
        res = self.resource(obj["apiVersion"], obj["kind"])
        return res, meta.get("name"), meta.get("namespace") if res.namespaced else None

    def get(self, obj):
        """The cluster's copy of an object, or None (gone, or of a kind no longer served)."""
        try:
            res, name, namespace = self._locate(obj)
            return self._call("get", res, name=name, namespace=namespace).to_dict()
        except (NotServed, NotFoundError):
            return None

    def list(self, api_version, kind, namespace=None):
        """The objects of a kind (in a namespace, or all), each with its apiVersion and kind; [] when the kind is
        not served."""
        try:
            res = self.resource(api_version, kind)
        except NotServed:
            return []
        answer = self._call("get", res, namespace=namespace if res.namespaced else None).to_dict()
        items = answer.get("items") or []
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def apply(self, obj, field_manager, dry_run=False):
        """Server-side apply (forcing conflicts: the collection owns what it applies); the object as the server
        has it, or would have it."""
        res, name, namespace = self._locate(obj)
        return self._call("server_side_apply", res, body=obj, name=name, namespace=namespace,
                          field_manager=field_manager, force_conflicts=True,
                          **({"dry_run": "All"} if dry_run else {})).to_dict()

    def delete(self, obj):
        """Delete an object; False when it was gone already."""
        try:
            res, name, namespace = self._locate(obj)
            self._call("delete", res, name=name, namespace=namespace)
        except (NotServed, NotFoundError):
            return False
        return True

    def log(self, namespace, pod, container, lines=20):
        """The last lines of a container's previous run (a crash loop), else of its current one."""
        for previous in (True, False):
            try:
                self.requests += 1
                return self.core.read_namespaced_pod_log(pod, namespace, container=container, previous=previous,
                                                         tail_lines=lines)
            except Exception:  # pylint: disable=broad-except  # no previous run, or logs not served: try next
                continue
        return ""
