# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig entries for a GKE cluster, merged into a file as plain data."""

from __future__ import annotations

import copy

EXEC_PLUGIN = "gke-gcloud-auth-plugin"


def context_name(project, location, name):
    """The context name gcloud uses, so both tools share one."""
    return "gke_%s_%s_%s" % (project, location, name)


def server_url(endpoint):
    return endpoint if "://" in endpoint else "https://" + endpoint


def entries(context, endpoint, ca_data, auth, token_file=None):
    """(cluster, user, context) entries for one GKE cluster."""
    cluster = {"name": context, "cluster": {"server": server_url(endpoint), "certificate-authority-data": ca_data}}
    if auth == "exec":
        user = {"name": context, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": EXEC_PLUGIN,
            "provideClusterInfo": True,
            "interactiveMode": "IfAvailable",
            "installHint": "Install gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin), "
                           "or use gke_cluster_kubeconfig_auth: token.",
        }}}
    else:
        user = {"name": context, "user": {"tokenFile": token_file}}
    ctx = {"name": context, "context": {"cluster": context, "user": context}}
    return cluster, user, ctx


def _put(items, entry):
    items = [i for i in items or [] if i.get("name") != entry["name"]]
    items.append(entry)
    return sorted(items, key=lambda i: i.get("name") or "")


def merge(config, cluster, user, context, set_current):
    """The kubeconfig with these entries added or replaced; other entries are kept."""
    merged = copy.deepcopy(config) if config else {}
    merged.setdefault("apiVersion", "v1")
    merged.setdefault("kind", "Config")
    merged.setdefault("preferences", {})
    merged["clusters"] = _put(merged.get("clusters"), cluster)
    merged["users"] = _put(merged.get("users"), user)
    merged["contexts"] = _put(merged.get("contexts"), context)
    if set_current or not merged.get("current-context"):
        merged["current-context"] = context["name"]
    return merged


def remove(config, context):
    """The kubeconfig without this context's entries."""
    merged = copy.deepcopy(config) if config else {}
    for key in ("clusters", "users", "contexts"):
        if key in merged:
            merged[key] = [i for i in merged[key] or [] if i.get("name") != context]
    if merged.get("current-context") == context:
        merged["current-context"] = ""
    return merged


def redacted(config):
    """For diffs: CA data shortened (it is public, but long)."""
    shown = copy.deepcopy(config or {})
    for item in shown.get("clusters") or []:
        data = (item.get("cluster") or {}).get("certificate-authority-data")
        if data:
            item["cluster"]["certificate-authority-data"] = data[:16] + "..."
    return shown
