# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE's own Ingress controller (ingress-gce), as far as the collection meets it.

- Which Ingresses it serves: those whose kubernetes.io/ingress.class annotation is gce (an external
  Application Load Balancer) or gce-internal, and those that name no class at all, neither by that
  annotation nor by spec.ingressClassName. An Ingress that names its class only in spec.ingressClassName is
  not its business, whatever the class: it gets no load balancer, no address and no event, as on GKE.
- Its load balancer checks each backend Pod's health the way GKE derives the check for container-native
  (NEG) backends: the path of the serving container's HTTP readinessProbe, else GET / on the serving port;
  only Pods that answer 200 get traffic, otherwise the load balancer answers 502. An unknown host gets the
  default backend's 404.

Not reproduced: the minutes GKE takes to program a load balancer (the lab's LB delay applies), TLS,
BackendConfig and FrontendConfig, instance-group (non-NEG) backends, IngressClass objects.
"""

from __future__ import annotations

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
SERVED_CLASSES = ("gce", "gce-internal")
DEFAULT_BACKEND_404 = b"default backend - 404"
NO_HEALTHY_BACKEND = (b"<html><head><title>502 Server Error</title></head><body><h1>Error: Server Error</h1><h2>The "
                      b"server encountered a temporary error and could not complete your request.<p>Please try again "
                      b"in 30 seconds.</h2></body></html>")


def serves(ingress):
    """Whether GKE's Ingress controller takes this Ingress."""
    annotations = (ingress.get("metadata") or {}).get("annotations") or {}
    if CLASS_ANNOTATION in annotations:
        return annotations[CLASS_ANNOTATION] in SERVED_CLASSES
    return not (ingress.get("spec") or {}).get("ingressClassName")


def backend_for(ingress, host):
    """(Service name, port) the Ingress sends a request for `host` to, or None."""
    for rule in (ingress.get("spec") or {}).get("rules") or []:
        if rule.get("host") in (None, host):
            for path in (rule.get("http") or {}).get("paths") or []:
                service = (path.get("backend") or {}).get("service") or {}
                if service.get("name"):
                    return service["name"], (service.get("port") or {}).get("number", 80)
    return None


def health_check_path(pod):
    """The path GKE's load balancer checks a Pod on: its serving container's HTTP readinessProbe, else /."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        probe = (container.get("readinessProbe") or {}).get("httpGet")
        if probe:
            return probe.get("path") or "/"
    return "/"
