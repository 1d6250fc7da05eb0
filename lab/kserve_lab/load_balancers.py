# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE's service controller and Ingress controller for a lab cluster on a real control plane: a LoadBalancer
Service, or an Ingress GKE's controller serves (gke_ingress.serves), gets an address after the time a Google Cloud
load balancer takes (scaled by the lab's latency knob), from the cluster's own block of 127.0.0.0/8
(clusters.address_block: two labs, or two clusters, never share one); when none is free it stays pending with
GKE's SyncLoadBalancerFailed event and the controller tries again later. It watches Services and Ingresses and
writes their status, as GKE's controllers do; what listens on an address is the routes' business (kserve.py).
"""

from __future__ import annotations

import json
import socket
import threading

from . import gke_ingress
from .watching import Reconciler, event

# Seconds a Google Cloud load balancer takes to get its address (scaled by the latency knob).
LB_ADDRESS = 25


def can_listen(address, port=80):
    """Whether this process could listen on address:port now (another lab, or anything else, may hold it)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((address, port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def held_addresses(objects):
    """The load balancer addresses Services or Ingresses hold."""
    return {entry.get("ip") for obj in objects
            for entry in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []}


def wants_address(obj, kind="Service"):
    """Whether a LoadBalancer Service, or an Ingress (one GKE serves), waits for an address."""
    return (kind == "Ingress" or (obj.get("spec") or {}).get("type") == "LoadBalancer") \
        and not held_addresses([obj]) and not obj["metadata"].get("deletionTimestamp")


class LoadBalancers(Reconciler):
    """GKE's service controller and Ingress controller (see the module's docstring). `routes` (kserve.ApiRoutes)
    is told of every address a Service or an Ingress holds, so that traffic to it reaches the cluster."""

    def __init__(self, api, block, knobs, stopping, routes=None):
        super().__init__(api, stopping)
        self.block, self.knobs, self.routes = block, knobs, routes
        self.pending = set()
        self.lock = threading.Lock()

    def _core(self):
        from kubernetes.client import CoreV1Api
        return CoreV1Api(self.api)

    def _net(self):
        from kubernetes.client import NetworkingV1Api
        return NetworkingV1Api(self.api)

    def watched(self):
        return [(self._core().list_service_for_all_namespaces, ()),
                (self._net().list_ingress_for_all_namespaces, ())]

    def _listed(self):
        """(Services, the Ingresses GKE's Ingress controller serves)."""
        services = json.loads(self._core().list_service_for_all_namespaces(_preload_content=False).data)["items"]
        ingresses = json.loads(self._net().list_ingress_for_all_namespaces(_preload_content=False).data)["items"]
        return services, [i for i in ingresses if gke_ingress.serves(i)]

    def reconcile(self):
        """Every LoadBalancer Service and served Ingress without an address gets one after the load balancer's
        delay; those with one are routed."""
        services, ingresses = self._listed()
        for kind, objects in (("Service", services), ("Ingress", ingresses)):
            for obj in objects:
                if wants_address(obj, kind):
                    self._later(LB_ADDRESS, kind, obj["metadata"]["namespace"], obj["metadata"]["name"])
                elif self.routes and held_addresses([obj]):
                    (self.routes.gateway_address if kind == "Service" else self.routes.ingress_address)(obj)

    def _later(self, seconds, kind, namespace, name):
        with self.lock:
            if (kind, namespace, name) in self.pending:
                return
            self.pending.add((kind, namespace, name))
        timer = threading.Timer(self.knobs.duration(seconds), self.ensure, (kind, namespace, name))
        timer.daemon = True
        timer.start()

    def ensure(self, kind, namespace, name):
        """Give the Service or Ingress an address, or say why not (and try again later)."""
        from kubernetes.client.exceptions import ApiException
        with self.lock:
            self.pending.discard((kind, namespace, name))
        if self.stopping.is_set():
            return
        read, write = {"Service": (self._core().read_namespaced_service, self._core().patch_namespaced_service_status),
                       "Ingress": (self._net().read_namespaced_ingress, self._net().patch_namespaced_ingress_status)}[kind]
        try:
            obj = json.loads(read(name, namespace, _preload_content=False).data)
        except ApiException:
            return
        if not wants_address(obj, kind):
            return
        services, ingresses = self._listed()
        held = held_addresses(services + ingresses)
        address = next((self.block + str(n) for n in range(10, 255)
                        if self.block + str(n) not in held and can_listen(self.block + str(n))), None)
        if address is None:
            event(self._core(), dict(obj, kind=kind, apiVersion="v1" if kind == "Service" else "networking.k8s.io/v1"),
                  "SyncLoadBalancerFailed",
                  "Error syncing load balancer: failed to ensure load balancer: no address of %s10-254 is free (each "
                  "is held by this cluster or listened on by another process on this machine)" % self.block,
                  "service-controller" if kind == "Service" else "loadbalancer-controller")
            self._later(LB_ADDRESS * 4, kind, namespace, name)
            return
        entry = {"ip": address, "ipMode": "VIP"} if kind == "Service" else {"ip": address}
        write(name, namespace, {"status": {"loadBalancer": {"ingress": [entry]}}})
