# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes resource quantities ("500m", "2", "128Mi", "2G"), as the lab writes a node's allocatable and reads
back what kube-apiserver canonicalised."""

from __future__ import annotations

from kubernetes.utils.quantity import parse_quantity


def parse(quantity):
    """A quantity as a float of base units (cores, bytes), by the Kubernetes client's own parser."""
    return float(parse_quantity(quantity))


def format_cpu(millis):
    return "%dm" % millis if millis % 1000 else str(millis // 1000)


def format_memory(num_bytes):
    return "%dKi" % (num_bytes // 1024)
