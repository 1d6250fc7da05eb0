# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils.k8s_objects import condition_true, merge_json_config


def obj(name, **conditions):
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]}}


@pytest.mark.parametrize("item, expected", [
    (obj("a", Established="True"), True),
    (obj("a", Established="False"), False),
    (obj("a", NamesAccepted="True"), False),
    ({"metadata": {"name": "a"}}, False),
    ({"metadata": {"name": "a"}, "status": None}, False),
    (None, False),
])
def test_condition_true(item, expected):
    assert condition_true(item, "Established") is expected


def manifest():
    return [{"kind": "Deployment", "metadata": {"name": "x", "namespace": "kserve"}},
            {"kind": "ConfigMap", "metadata": {"name": "inferenceservice-config", "namespace": "kserve"},
             "data": {"deploy": '{"defaultDeploymentMode": "Knative"}',
                      "ingress": '{"ingressClassName": "istio", "urlScheme": "http"}', "odd": "not json"}}]


def test_merge_json_config_sets_fields_and_keeps_the_rest():
    out = merge_json_config(manifest(), "kserve", "inferenceservice-config",
                            {"ingress": {"ingressClassName": "gce"}, "deploy": {}})
    data = out[1]["data"]
    assert json.loads(data["ingress"]) == {"ingressClassName": "gce", "urlScheme": "http"}
    assert data["deploy"] == '{"defaultDeploymentMode": "Knative"}'  # no overrides: text untouched
    assert data["odd"] == "not json" and out[0] == manifest()[0]


def test_merge_json_config_removes_a_field_set_to_none():
    """KServe's Standard mode on GKE: no ingressClassName at all, so KServe's Ingresses carry none."""
    out = merge_json_config(manifest(), "kserve", "inferenceservice-config",
                            {"ingress": {"ingressClassName": None, "absent": None, "urlScheme": "https"}})
    assert json.loads(out[1]["data"]["ingress"]) == {"urlScheme": "https"}


def test_merge_json_config_is_stable_so_applies_converge():
    once = merge_json_config(manifest(), "kserve", "inferenceservice-config", {"ingress": {"urlScheme": "https"}})
    twice = merge_json_config(manifest(), "kserve", "inferenceservice-config", {"ingress": {"urlScheme": "https"}})
    assert once == twice


@pytest.mark.parametrize("namespace, name, overrides, message", [
    ("kserve", "nope", {"deploy": {"a": 1}}, "has no ConfigMap kserve/nope"),
    ("kserve", "inferenceservice-config", {"missing": {"a": 1}}, "has no key 'missing'"),
    ("kserve", "inferenceservice-config", {"odd": {"a": 1}}, "key 'odd' is not JSON"),
])
def test_merge_json_config_refuses_what_it_cannot_configure(namespace, name, overrides, message):
    with pytest.raises(ValueError, match=message):
        merge_json_config(manifest(), namespace, name, overrides)
