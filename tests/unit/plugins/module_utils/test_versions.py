# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime
import os

import pytest
import yaml

from ansible_collections.mlops.kserve_gke.plugins.module_utils import versions

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
TODAY = datetime.date(2026, 11, 24)

MATRIX = {
    "kubernetes": {"1.32": {}, "1.33": {}, "1.34": {}},
    "kserve": {"0.20": {"kubernetes": {"min": "1.32"}}},
    "istio": {
        "1.27": {"eol": "2026-04-07", "kubernetes": {"min": "1.29", "max": "1.33"}},
        "1.29": {"eol": "2026-08-31", "eol_expected": True},
        "1.30": {"kubernetes": {"min": "1.32", "max": "1.36"}},
    },
    "knative": {"1.21": {"kubernetes": {"min": "1.33"}}, "1.22": {"kubernetes": {"min": "1.34"}, "newest": "1.22.1"}},
    "net_istio": {"1.21": {"knative": "1.21", "kubernetes": {"min": "1.33"}},
                  "1.22": {"knative": "1.22", "kubernetes": {"min": "1.34"}, "newest": "1.22.0"}},
    "cert_manager": {"1.17": {"supported": False, "kubernetes": "unknown"}, "1.20": {}},
}
GOOD = {"kubernetes": "1.33", "kserve": "0.20.0", "istio": "1.30.4",
        "knative": "1.21.1", "net_istio": "1.21.3", "cert_manager": "1.20.0"}


def load(name):
    with open(os.path.join(ROOT, "playbooks", "vars", name)) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("value, parsed", [
    ("1.30.4", (1, 30, 4)),
    ("v0.20.0", (0, 20, 0)),
    ("1.33", (1, 33, None)),
    ("1.33.x", None),
    ("latest", None),
    ("", None),
])
def test_parse_version(value, parsed):
    assert versions.parse_version(value) == parsed


def test_resolve_versions_overrides_only_what_is_given():
    assert versions.resolve_versions(GOOD, {"istio": "1.29.0", "knative": None}) == dict(GOOD, istio="1.29.0")
    assert versions.resolve_versions(GOOD, None) == GOOD


@pytest.mark.parametrize("overrides, fragments", [
    ({}, []),
    ({"knative": "1.31.0"}, ["kserve_gke_versions.knative", "not a version this collection knows",
                             "use Knative Serving 1.21 or 1.22"]),
    ({"istio": "latest"}, ["kserve_gke_versions.istio", "is not a version", "e.g. 1.30.0"]),
    ({"kserve": "0.20"}, ["names no patch release"]),
    ({"kubernetes": "1.31"}, ["Kubernetes (GKE) 1.31 is not a version"]),
    ({"kubernetes": "1.32", "net_istio": "1.22.0", "knative": "1.22.1"},
     ["Knative Serving 1.22.1 supports Kubernetes 1.34 to any, but the cluster runs 1.32"]),
    ({"knative": "1.22.1", "kubernetes": "1.34"},
     ["kserve_gke_versions.net_istio: net-istio 1.21.3 is released for Knative Serving 1.21, but Knative Serving "
      "1.22.1 is pinned. Fix: pin net-istio 1.22.x"]),
    ({"knative": "1.22.1", "net_istio": "1.22.0", "kubernetes": "1.34"}, []),
    ({"istio": "1.27.1", "kubernetes": "1.33"}, []),
    ({"foo": "1.0.0"}, ["no component 'foo'"]),
])
def test_check_versions_errors(overrides, fragments):
    errors, _warnings = versions.check_versions(dict(GOOD, **overrides), MATRIX, TODAY)
    assert bool(errors) == bool(fragments), errors
    for fragment in fragments:
        assert [e for e in errors if fragment in e], errors


def test_missing_kubernetes_pin_is_an_error():
    pins = dict(GOOD)
    del pins["kubernetes"]
    errors, _warnings = versions.check_versions(pins, MATRIX, TODAY)
    assert errors and errors[0].startswith("kserve_gke_versions.kubernetes: is not set")


@pytest.mark.parametrize("overrides, warning", [
    ({}, None),
    ({"istio": "1.27.1"}, "Istio 1.27.1 reached end of life on 2026-04-07; consider Istio 1.29 or 1.30"),
    ({"istio": "1.29.2"}, "Istio 1.29.2 was expected to reach end of life on 2026-08-31; consider Istio 1.30"),
    ({"cert_manager": "1.20.0", "kserve": "0.20.0"}, None),
])
def test_check_versions_support_warnings(overrides, warning):
    errors, warnings = versions.check_versions(dict(GOOD, **overrides), MATRIX, TODAY)
    assert errors == []
    assert warnings == ([warning] if warning else [])


def test_an_unsupported_release_warns_twice_when_its_range_is_unknown_too():
    errors, warnings = versions.check_versions(dict(GOOD, cert_manager="1.17.0"), MATRIX, TODAY)
    assert errors == []
    assert warnings[1] == "cert-manager 1.17.0 is out of upstream support; consider cert-manager 1.20"


def test_a_range_upstream_does_not_state_is_a_warning_not_a_pass():
    errors, warnings = versions.check_versions(dict(GOOD, cert_manager="1.17.0"), MATRIX, TODAY)
    assert errors == []
    assert ("cert-manager 1.17.0: the Kubernetes versions it supports are not known from upstream, so Kubernetes "
            "1.33 is not checked against them") in warnings[0]


def test_a_patch_newer_than_the_newest_known_is_a_warning():
    pins = dict(GOOD, knative="1.22.1", net_istio="1.22.1", kubernetes="1.34")
    errors, warnings = versions.check_versions(pins, MATRIX, TODAY)
    assert errors == []
    assert warnings == ["net-istio 1.22.1 is newer than the newest net-istio release compatibility.yml knows "
                        "(1.22.0); if its release files are not found, pin 1.22.0"]


def test_a_knative_minor_without_a_known_net_istio_release_says_so():
    matrix = dict(MATRIX, knative=dict(MATRIX["knative"], **{"1.23": {"kubernetes": {"min": "1.34"}}}))
    pins = dict(GOOD, knative="1.23.0", net_istio="1.22.0", kubernetes="1.34")
    errors, _warnings = versions.check_versions(pins, matrix, TODAY)
    assert errors == ["kserve_gke_versions.net_istio: net-istio 1.22.0 is released for Knative Serving 1.22, but "
                      "Knative Serving 1.23.0 is pinned. Fix: pin Knative Serving 1.22, since compatibility.yml knows "
                      "no net-istio release for Knative Serving 1.23 yet (net-istio's tags do not follow Knative "
                      "Serving's patch numbers)"]


def test_eol_is_judged_against_the_given_day():
    pins = dict(GOOD, istio="1.27.1")
    assert versions.check_versions(pins, MATRIX, datetime.date(2026, 4, 6))[1] == []
    assert versions.check_versions(pins, MATRIX, datetime.date(2026, 4, 7))[1] != []


def test_shipped_defaults_are_known_compatible_and_supported_today():
    defaults = load("versions.yml")["kserve_gke_version_defaults"]
    matrix = load("compatibility.yml")["kserve_gke_compatibility"]
    assert set(defaults) == set(versions.COMPONENT_LABELS)
    assert versions.check_versions(defaults, matrix, TODAY) == ([], [])


def test_shipped_matrix_is_well_formed():
    matrix = load("compatibility.yml")["kserve_gke_compatibility"]
    allowed = {"released", "eol", "eol_expected", "supported", "kubernetes", "knative", "newest"}
    for component, minors in matrix.items():
        assert component in versions.COMPONENT_LABELS
        for minor, entry in minors.items():
            assert versions.parse_version(minor) is not None, (component, minor)
            assert set(entry) <= allowed, (component, minor)
            assert entry.get("kubernetes", {}) == "unknown" or set(entry.get("kubernetes", {})) <= {"min", "max"}
            if "newest" in entry:
                assert versions.minor_of(entry["newest"]) == minor, (component, minor)
            for field in ("released", "eol"):
                if field in entry:
                    assert isinstance(entry[field], str)
                    datetime.date.fromisoformat(entry[field])


def test_the_shipped_defaults_meet_knatives_real_minimum():
    """Knative Serving 1.22's binaries exit below Kubernetes 1.34 (knative.dev/pkg release-1.22): the old
    default Kubernetes 1.33 with it is refused."""
    defaults = load("versions.yml")["kserve_gke_version_defaults"]
    matrix = load("compatibility.yml")["kserve_gke_compatibility"]
    errors, _warnings = versions.check_versions(dict(defaults, kubernetes="1.33"), matrix, TODAY)
    assert [e for e in errors if "Knative Serving 1.22.1 supports Kubernetes 1.34 to any" in e], errors


def test_no_checksum_is_invented():
    assert load("versions.yml")["kserve_gke_artifact_checksums"] == {}
