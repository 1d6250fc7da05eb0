# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE's service controller for a lab cluster on a real control plane: a LoadBalancer Service gets an address
after the time a Google Cloud load balancer takes (scaled by the lab's latency knob), from the cluster's own block
of 127.0.0.0/8 (clusters.address_block: two labs, or two clusters, never share one); when none is free the Service
stays pending with GKE's SyncLoadBalancerFailed event and the controller tries again later. It watches Services and
writes their status, as GKE's controller does.

Not here yet: GKE's Ingress controller, and the traffic itself (the serving data plane; docs/lab.md).
"""

from __future__ import annotations

import json
import socket
import threading

from .watching import Reconciler, timestamp

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


def held_addresses(services):
    return {entry.get("ip") for svc in services
            for entry in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []}


def wants_address(svc):
    return (svc.get("spec") or {}).get("type") == "LoadBalancer" and not held_addresses([svc]) \
        and not (svc["metadata"].get("deletionTimestamp"))


class ServiceController(Reconciler):
    def __init__(self, api, block, knobs, stopping):
        super().__init__(api, stopping)
        self.block, self.knobs = block, knobs
        self.pending = set()
        self.lock = threading.Lock()

    def _core(self):
        from kubernetes.client import CoreV1Api
        return CoreV1Api(self.api)

    def watched(self):
        return [(self._core().list_service_for_all_namespaces, ())]

    def reconcile(self):
        """Every LoadBalancer Service without an address gets one after the load balancer's delay."""
        for svc in json.loads(self._core().list_service_for_all_namespaces(_preload_content=False).data)["items"]:
            if wants_address(svc):
                self._later(LB_ADDRESS, svc["metadata"]["namespace"], svc["metadata"]["name"])

    def _later(self, seconds, namespace, name):
        with self.lock:
            if (namespace, name) in self.pending:
                return
            self.pending.add((namespace, name))
        timer = threading.Timer(self.knobs.duration(seconds), self.ensure, (namespace, name))
        timer.daemon = True
        timer.start()

    def ensure(self, namespace, name):
        """Give the Service an address, or say why not (and try again later)."""
        from kubernetes.client.exceptions import ApiException
        with self.lock:
            self.pending.discard((namespace, name))
        if self.stopping.is_set():
            return
        core = self._core()
        try:
            svc = json.loads(core.read_namespaced_service(name, namespace, _preload_content=False).data)
        except ApiException:
            return
        if not wants_address(svc):
            return
        services = json.loads(core.list_service_for_all_namespaces(_preload_content=False).data)["items"]
        held = held_addresses(services)
        address = next((self.block + str(n) for n in range(10, 255)
                        if self.block + str(n) not in held and can_listen(self.block + str(n))), None)
        if address is None:
            self._event(core, svc, "no address of %s10-254 is free (each is held by this cluster or listened on by "
                                   "another process on this machine)" % self.block)
            self._later(LB_ADDRESS * 4, namespace, name)
            return
        core.patch_namespaced_service_status(name, namespace, {"status": {"loadBalancer": {
            "ingress": [{"ip": address, "ipMode": "VIP"}]}}})

    @staticmethod
    def _event(core, svc, message):
        now = timestamp()
        meta = svc["metadata"]
        core.create_namespaced_event(meta["namespace"], {
            "metadata": {"generateName": meta["name"] + "."},
            "involvedObject": {"kind": "Service", "namespace": meta["namespace"], "name": meta["name"],
                               "uid": meta["uid"], "apiVersion": "v1"},
            "reason": "SyncLoadBalancerFailed", "type": "Warning", "source": {"component": "service-controller"},
            "message": "Error syncing load balancer: failed to ensure load balancer: " + message,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1})
