# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A component's objects as plain data: which to keep, in which order to apply and remove them, what they
need to be ready, whether the cluster's copy differs, and which pieces are not ready yet.

The k8s_component module does the reading and writing; everything here is pure and table-tested.
"""

from __future__ import annotations

import copy
import fnmatch

from ansible_collections.mlops.kserve_gke.plugins.module_utils.k8s_objects import condition_true

WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
# Fields the API server sets and an apply never owns: a difference there is not a change.
VOLATILE = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink")


class ComponentError(Exception):
    """A failure with a message a user can act on."""


def describe(obj):
    meta = obj.get("metadata") or {}
    where = "%s/%s" % (meta["namespace"], meta.get("name")) if meta.get("namespace") else meta.get("name")
    return "%s %s" % (obj.get("kind"), where)


def _matches(obj, rule):
    meta = obj.get("metadata") or {}
    return all(fnmatch.fnmatchcase(str(value), str(rule[field])) for field, value in (
        ("kind", obj.get("kind")), ("name", meta.get("name")), ("namespace", meta.get("namespace") or ""))
        if rule.get(field) not in (None, ""))


def unique(sourced):
    """[(source, object)] with each (apiVersion, kind, namespace, name) once, the first kept: Knative's
    serving-core.yaml repeats the CRDs of serving-crds.yaml."""
    seen, kept = set(), []
    for source, obj in sourced:
        meta = obj.get("metadata") or {}
        key = (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name"))
        if key not in seen:
            seen.add(key)
            kept.append((source, obj))
    return kept


def expand(rules):
    """Rules with a list of names as one rule per name (an empty list: any name)."""
    expanded = []
    for rule in rules or []:
        names = rule.get("name")
        if isinstance(names, list):
            expanded.extend([dict(rule, name=n) for n in names] or [{k: v for k, v in rule.items() if k != "name"}])
        else:
            expanded.append(rule)
    return expanded


def _concerns(rule, source):
    return rule.get("file") in (None, "") or fnmatch.fnmatchcase(source, rule["file"])


def select(sourced, include=None, exclude=None):
    """The objects of [(source, object)] to keep. A rule is {kind, name, namespace, file}, each optional, each a
    shell pattern (name may be a list of them); file limits the rule to the objects of the release files it
    matches ("definitions" for the objects given as such). An object is kept when no include rule concerns its
    source or one of them matches it, and no exclude rule matches it. An include rule that matches nothing is
    refused, with the names of that kind there are."""
    include, exclude = expand(include), expand(exclude)
    for rule in include + exclude:
        unknown = sorted(set(rule) - {"kind", "name", "namespace", "file"})
        if unknown or not rule:
            raise ComponentError("a select rule takes kind, name, namespace and file (shell patterns), got %s. Fix: "
                                 "write it as {kind: ClusterServingRuntime, name: kserve-tensorflow-serving}"
                                 % (unknown or "an empty rule"))
    for rule in include:
        concerned = [o for source, o in sourced if _concerns(rule, source)]
        if not any(_matches(o, rule) for o in concerned):
            same_kind = sorted({(o.get("metadata") or {}).get("name") for o in concerned
                                if not rule.get("kind") or fnmatch.fnmatchcase(o.get("kind", ""), rule["kind"])})
            raise ComponentError("the include rule %s matches no object of the release files%s" % (
                ", ".join("%s=%s" % kv for kv in sorted(rule.items())),
                "; of that kind they have: %s" % ", ".join(same_kind) if same_kind else ""))
    kept = []
    for source, obj in sourced:
        rules = [r for r in include if _concerns(r, source)]
        if (not rules or any(_matches(obj, r) for r in rules)) and \
                not any(_matches(obj, r) for r in exclude if _concerns(r, source)):
            kept.append(obj)
    return kept


def check_namespace(objects, namespace):
    """Refuse a release whose namespaced objects live elsewhere than `namespace` (its webhooks and certificates
    name that namespace, so it cannot be moved by a setting)."""
    elsewhere = sorted({(o.get("metadata") or {}).get("namespace") for o in objects
                        if (o.get("metadata") or {}).get("namespace") not in (None, "", namespace)})
    if elsewhere:
        raise ComponentError("the namespace is %s, but the release puts its objects in %s (and its webhooks and "
                             "certificates name it). Fix: leave the namespace at %s"
                             % (namespace, ", ".join(elsewhere), elsewhere[0]))


def install_order(objects):
    """(first, rest): Namespaces and CRDs (applied, then waited for), then the others in their order, with
    webhook configurations last, so that no object of the component passes through a webhook of its own
    before that webhook's server can answer."""
    first = [o for o in objects if o.get("kind") == "Namespace"] + \
        [o for o in objects if o.get("kind") == "CustomResourceDefinition"]
    others = [o for o in objects if o.get("kind") not in ("Namespace", "CustomResourceDefinition")]
    return first, [o for o in others if o.get("kind") not in WEBHOOK_KINDS] + \
        [o for o in others if o.get("kind") in WEBHOOK_KINDS]


def removal_order(objects):
    """Webhook configurations first (so no deletion is refused by a webhook whose server is gone), then the
    others in reverse, then the CRDs (their objects go with them), the Namespaces last."""
    webhooks = [o for o in objects if o.get("kind") in WEBHOOK_KINDS]
    others = [o for o in objects if o.get("kind") not in WEBHOOK_KINDS + ("Namespace", "CustomResourceDefinition")]
    return webhooks + others[::-1] + [o for o in objects if o.get("kind") == "CustomResourceDefinition"] + \
        [o for o in objects if o.get("kind") == "Namespace"]


def needs(objects):
    """What must be ready before the component is: [{kind, namespace, name}] of its CRDs, Deployments,
    DaemonSets, the Services its webhooks call (WebhookService), and its LoadBalancer Services."""
    pieces = []

    def add(kind, namespace, name):
        piece = {"kind": kind, "namespace": namespace, "name": name}
        if name and piece not in pieces:
            pieces.append(piece)
    for obj in objects:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        kind = obj.get("kind")
        if kind == "CustomResourceDefinition":
            add(kind, None, meta.get("name"))
            service = ((((spec.get("conversion") or {}).get("webhook") or {}).get("clientConfig") or {})
                       .get("service") or {})
            add("WebhookService", service.get("namespace"), service.get("name"))
        elif kind in ("Deployment", "DaemonSet"):
            add(kind, meta.get("namespace"), meta.get("name"))
        elif kind in WEBHOOK_KINDS:
            for hook in obj.get("webhooks") or []:
                service = (hook.get("clientConfig") or {}).get("service") or {}
                add("WebhookService", service.get("namespace"), service.get("name"))
        elif kind == "Service" and spec.get("type") == "LoadBalancer":
            add("LoadBalancer", meta.get("namespace"), meta.get("name"))
    return pieces


def _fresh(obj):
    status = obj.get("status") or {}
    return status.get("observedGeneration", 0) >= ((obj.get("metadata") or {}).get("generation") or 0)


def deployment_ready(obj):
    status = obj.get("status") or {}
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    return _fresh(obj) and condition_true(obj, "Available") and status.get("updatedReplicas", 0) >= wanted


def daemonset_ready(obj):
    status = obj.get("status") or {}
    desired = status.get("desiredNumberScheduled", 0)
    return _fresh(obj) and status.get("numberReady", 0) >= desired \
        and status.get("updatedNumberScheduled", 0) >= desired


def load_balancer_address(service):
    ingress = (((service or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return next((i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")), "")


def _find(state, kind, namespace, name):
    """The object of `state` ({kind: [objects]}) with that kind, namespace and name, or None."""
    return next((o for o in state.get(kind) or [] if (o.get("metadata") or {}).get("name") == name
                 and (o.get("metadata") or {}).get("namespace") == namespace), None)


def load_balancers(pieces, state):
    """{namespace/name: address} of the LoadBalancer pieces that have one in `state` ({kind: [objects]})."""
    found = {}
    for piece in pieces:
        if piece["kind"] != "LoadBalancer":
            continue
        address = load_balancer_address(_find(state, "Service", piece["namespace"], piece["name"]))
        if address:
            found["%s/%s" % (piece["namespace"], piece["name"])] = address
    return found


def missing_requirements(name, requires, served, fix):
    """The message for the entries of `requires` ({crd, what}) whose CRD is not among `served` (names), else
    None: what the component needs that an earlier install brings (known failure 2, caught before any write)."""
    missing = [r for r in requires if r["crd"] not in served]
    if not missing:
        return None
    return "%s needs %s, which the cluster does not have (CRD %s missing). Fix: %s." % (
        name, " and ".join(r.get("what") or r["crd"] for r in missing), ", ".join(r["crd"] for r in missing),
        (fix or "install what brings those CRDs first, then re-run").rstrip("."))


def not_ready(pieces, state, ready_addresses):
    """The pieces not ready in `state` ({kind: [objects]}); ready_addresses(namespace, name) counts a
    Service's ready endpoints."""
    waiting = []
    for piece in pieces:
        kind, namespace, name = piece["kind"], piece["namespace"], piece["name"]
        if kind == "CustomResourceDefinition":
            ok = condition_true(_find(state, kind, None, name), "Established")
        elif kind == "Deployment":
            obj = _find(state, kind, namespace, name)
            ok = obj is not None and deployment_ready(obj)
        elif kind == "DaemonSet":
            obj = _find(state, kind, namespace, name)
            ok = obj is not None and daemonset_ready(obj)
        elif kind == "WebhookService":
            ok = ready_addresses(namespace, name) > 0
        else:
            ok = bool(load_balancer_address(_find(state, "Service", namespace, name)))
        if not ok:
            waiting.append(piece)
    return waiting


def comparable(obj):
    """An object without what the API server sets on its own (managedFields, resourceVersion, ...) and without its
    status: an apply never writes status (its own subresource), and controllers change it between the read of the
    cluster's copy and the dry run (a Deployment's Pods turning ready), which is no change of ours."""
    obj = copy.deepcopy(obj or {})
    obj.pop("status", None)
    meta = obj.get("metadata") or {}
    for field in VOLATILE:
        meta.pop(field, None)
    annotations = meta.get("annotations") or {}
    annotations.pop("deprecated.daemonset.template.generation", None)
    if "annotations" in meta and not annotations:
        meta.pop("annotations")
    return obj


def differs(live, would_be):
    """Whether a server-side dry run's answer differs from the object the cluster holds (None: not there)."""
    return live is None or comparable(live) != comparable(would_be)
