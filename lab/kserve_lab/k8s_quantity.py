# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Pod asks for, in Kubernetes resource quantities ("500m", "2", "128Mi", "2G").

A Pod's request is what the scheduler counts: the larger of its containers' sum and its largest init
container (init containers run one at a time, before the others), as kube-scheduler computes it.
"""

from __future__ import annotations

from kubernetes.utils.quantity import parse_quantity


def parse(quantity):
    """A quantity as a float of base units (cores, bytes), by the Kubernetes client's own parser."""
    return float(parse_quantity(quantity))


def millicores(quantity):
    return int(round(parse(quantity) * 1000))


def _container_requests(container):
    """(millicores, bytes) a container requests; a limit without a request counts as the request."""
    resources = container.get("resources") or {}
    wanted = dict(resources.get("limits") or {}, **(resources.get("requests") or {}))
    return (millicores(wanted["cpu"]) if "cpu" in wanted else 0,
            int(parse(wanted["memory"])) if "memory" in wanted else 0)


def pod_requests(spec):
    """(millicores, bytes) the scheduler counts for a Pod spec."""
    total = [0, 0]
    for container in spec.get("containers") or []:
        cpu, memory = _container_requests(container)
        total[0] += cpu
        total[1] += memory
    for container in spec.get("initContainers") or []:
        cpu, memory = _container_requests(container)
        total[0], total[1] = max(total[0], cpu), max(total[1], memory)
    return total[0], total[1]


def format_cpu(millis):
    return "%dm" % millis if millis % 1000 else str(millis // 1000)


def format_memory(num_bytes):
    return "%dKi" % (num_bytes // 1024)
