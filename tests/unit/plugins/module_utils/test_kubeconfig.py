# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.mlops.kserve_gke.plugins.module_utils import kubeconfig

CTX = "gke_p_us-central1-a_c"


def entries(auth="token"):
    return kubeconfig.entries(CTX, "34.1.2.3", "Q0FEQVRBQ0FEQVRBQ0FEQVRB", auth, "/k/c.token")


def test_entries_use_https_the_ca_and_a_token_file():
    cluster, user, ctx = entries()
    assert cluster["cluster"] == {"server": "https://34.1.2.3", "certificate-authority-data": "Q0FEQVRBQ0FEQVRBQ0FEQVRB"}
    assert user["user"] == {"tokenFile": "/k/c.token"}
    assert ctx["context"] == {"cluster": CTX, "user": CTX}


def test_exec_entry_runs_the_gke_plugin():
    user = entries("exec")[1]["user"]["exec"]
    assert user["command"] == "gke-gcloud-auth-plugin"
    assert user["apiVersion"] == "client.authentication.k8s.io/v1beta1"


def test_merge_keeps_other_entries_and_replaces_ours():
    existing = {"apiVersion": "v1", "kind": "Config", "current-context": "other",
                "clusters": [{"name": "other", "cluster": {}}, {"name": CTX, "cluster": {"server": "old"}}],
                "users": [{"name": "other", "user": {}}], "contexts": [{"name": "other", "context": {}}]}
    merged = kubeconfig.merge(existing, *entries(), set_current=False)
    assert [c["name"] for c in merged["clusters"]] == [CTX, "other"]
    assert merged["clusters"][0]["cluster"]["server"] == "https://34.1.2.3"
    assert merged["current-context"] == "other"
    assert existing["clusters"][1]["cluster"]["server"] == "old"
    assert kubeconfig.merge(existing, *entries(), set_current=True)["current-context"] == CTX
    assert kubeconfig.merge({}, *entries(), set_current=False)["current-context"] == CTX


def test_merging_twice_changes_nothing():
    once = kubeconfig.merge({}, *entries(), set_current=True)
    assert kubeconfig.merge(once, *entries(), set_current=True) == once


def test_remove_takes_only_our_entries():
    merged = kubeconfig.merge({"clusters": [{"name": "other"}]}, *entries(), set_current=True)
    removed = kubeconfig.remove(merged, CTX)
    assert removed["clusters"] == [{"name": "other"}] and removed["users"] == [] and removed["current-context"] == ""


def test_redacted_shortens_the_ca_only():
    merged = kubeconfig.merge({}, *entries(), set_current=True)
    shown = kubeconfig.redacted(merged)
    assert shown["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0FEQVRBQ0FEQVRB..."
    assert merged["clusters"][0]["cluster"]["certificate-authority-data"].endswith("RB")


def test_the_gke_context_filter_is_the_name_the_kubeconfig_module_writes():
    from ansible_collections.mlops.kserve_gke.plugins.filter.gke_context import FilterModule
    assert FilterModule().filters()["gke_context"]("p", "us-central1-a", "c") == "gke_p_us-central1-a_c"
