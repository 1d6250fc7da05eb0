# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the pinned component versions against the compatibility matrix.

The matrix is data (playbooks/vars/compatibility.yml); these functions only
read it. Shape of the matrix, per component, per minor version:

    istio:
      "1.30": {released: 2026-05-14, eol: 2026-11-30, eol_expected: true, newest: "1.30.7",
               kubernetes: {min: "1.32", max: "1.36"}}
    net_istio:
      "1.22": {knative: "1.22", kubernetes: {min: "1.34"}}

`kubernetes: unknown` says that upstream states no range for that minor: the pin
is then not checked against the cluster, and a warning says so. `knative` ties a
minor to the Knative Serving minor it is released with.
"""

from __future__ import annotations

import datetime
import re

VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")

COMPONENT_LABELS = {
    "kubernetes": "Kubernetes (GKE)",
    "istio": "Istio",
    "knative": "Knative Serving",
    "cert_manager": "cert-manager",
    "kserve": "KServe",
    "net_istio": "net-istio",
}
# Fields that tie one component's minor to another's: net-istio is released per Knative Serving minor.
TIES = ("knative",)
UNKNOWN = "unknown"


def parse_version(value):
    """Return (major, minor, patch or None), or None when not a version."""
    match = VERSION_RE.match(str(value).strip())
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), (int(patch) if patch is not None else None)


def minor_of(value):
    parsed = parse_version(value)
    return None if parsed is None else "%d.%d" % parsed[:2]


def _minor_key(minor):
    major, minor_part = minor.split(".", 1)
    return int(major), int(minor_part)


def _as_date(value):
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


def resolve_versions(defaults, overrides):
    """Merge the user's partial overrides into the pinned defaults."""
    merged = dict(defaults)
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return merged


def _var(component):
    return "kserve_gke_versions.%s" % component


def check_known(component, version, matrix):
    """Errors for a version that is malformed or whose minor is not in the matrix."""
    label = COMPONENT_LABELS.get(component, component)
    known = sorted(matrix.get(component, {}), key=_minor_key)
    if component not in matrix:
        return ["%s: there is no component %r in the compatibility matrix. Fix: use one of %s"
                % (_var(component), component, ", ".join(sorted(matrix)))]
    parsed = parse_version(version)
    if parsed is None:
        return ["%s: %r is not a version. Fix: write it as MAJOR.MINOR.PATCH, e.g. %s.0"
                % (_var(component), version, known[-1])]
    if component != "kubernetes" and parsed[2] is None:
        return ["%s: %r names no patch release. Fix: pin an exact release, e.g. %s.0"
                % (_var(component), version, minor_of(version))]
    if minor_of(version) not in known:
        return ["%s: %s %s is not a version this collection knows. Fix: use %s %s, or add "
                "the release to playbooks/vars/compatibility.yml after checking its upstream "
                "support matrix" % (_var(component), label, version, label,
                                    " or ".join(known))]
    return []


def check_kubernetes_range(component, version, k8s_version, matrix):
    """(errors, warnings) for a component whose Kubernetes range excludes the cluster's minor, or is not known."""
    entry = matrix.get(component, {}).get(minor_of(version)) or {}
    bounds = entry.get("kubernetes") or {}
    k8s_minor = minor_of(k8s_version)
    label = COMPONENT_LABELS.get(component, component)
    if bounds == UNKNOWN:
        return [], ["%s %s: the Kubernetes versions it supports are not known from upstream, so Kubernetes %s is "
                    "not checked against them; check %s's release notes" % (label, version, k8s_minor, label)]
    if not bounds or k8s_minor is None:
        return [], []
    lower, upper = bounds.get("min"), bounds.get("max")
    too_old = lower is not None and _minor_key(k8s_minor) < _minor_key(str(lower))
    too_new = upper is not None and _minor_key(k8s_minor) > _minor_key(str(upper))
    if not (too_old or too_new):
        return [], []
    span = "%s to %s" % (lower or "any", upper or "any")
    return ["%s: %s %s supports Kubernetes %s, but the cluster runs %s. Fix: choose a %s "
            "release that supports Kubernetes %s, or change kserve_gke_versions.kubernetes"
            % (_var(component), label, version, span, k8s_minor, label, k8s_minor)], []


def check_ties(component, version, versions, matrix):
    """Errors for a minor released for another component's minor (net-istio for a Knative Serving minor)
    that does not match the pin of that other component."""
    entry = matrix.get(component, {}).get(minor_of(version)) or {}
    errors = []
    for other in TIES:
        wanted = entry.get(other)
        if wanted is None or other not in versions or minor_of(versions[other]) == str(wanted) \
                or minor_of(versions[other]) not in matrix.get(other, {}):  # an unknown pin is reported as such
            continue
        label, other_label = COMPONENT_LABELS.get(component, component), COMPONENT_LABELS.get(other, other)
        matching = sorted((m for m, e in matrix.get(component, {}).items()
                           if str((e or {}).get(other)) == minor_of(versions[other])), key=_minor_key)
        other_minor = minor_of(versions[other])
        if matching:
            fix = "pin %s %s.x, the minor released for %s %s" % (label, matching[-1], other_label, other_minor)
        else:
            fix = "pin %s %s, since compatibility.yml knows no %s release for %s %s yet" % (
                other_label, wanted, label, other_label, other_minor)
        errors.append("%s: %s %s is released for %s %s, but %s %s is pinned. Fix: %s (%s's tags do not follow "
                      "%s's patch numbers)" % (_var(component), label, version, other_label, wanted, other_label,
                                               versions[other], fix, label, other_label))
    return errors


def check_newest(component, version, matrix):
    """Warnings for a patch release newer than the newest one compatibility.yml records for its minor."""
    entry = matrix.get(component, {}).get(minor_of(version)) or {}
    newest, pinned = parse_version(entry.get("newest") or ""), parse_version(version)
    if newest is None or pinned is None or pinned[2] is None or pinned <= newest:
        return []
    label = COMPONENT_LABELS.get(component, component)
    return ["%s %s is newer than the newest %s release compatibility.yml knows (%s); if its release files are "
            "not found, pin %s" % (label, version, label, entry["newest"], entry["newest"])]


def check_support(component, version, matrix, today):
    """Warnings for a pin that is past (or at) the end of its upstream support."""
    entry = matrix.get(component, {}).get(minor_of(version)) or {}
    label = COMPONENT_LABELS.get(component, component)
    eol = _as_date(entry.get("eol"))
    newer = sorted((m for m in matrix.get(component, {})
                    if _minor_key(m) > _minor_key(minor_of(version))), key=_minor_key)
    advice = ("consider %s %s" % (label, " or ".join(newer))) if newer else \
        "no newer release is recorded in compatibility.yml yet"
    if entry.get("supported") is False:
        return ["%s %s is out of upstream support; %s" % (label, version, advice)]
    if eol is not None and eol <= today:
        when = "was expected to reach" if entry.get("eol_expected") else "reached"
        return ["%s %s %s end of life on %s; %s" % (label, version, when, eol.isoformat(), advice)]
    return []


def check_versions(versions, matrix, today=None):
    """Check every pin; return (errors, warnings)."""
    today = today or datetime.date.today()
    errors, warnings = [], []
    known_ok = {}
    for component in sorted(versions):
        problems = check_known(component, versions[component], matrix)
        errors += problems
        known_ok[component] = not problems
    k8s = versions.get("kubernetes")
    if k8s is None:
        errors.append("kserve_gke_versions.kubernetes: is not set. Fix: set the GKE minor "
                      "version the cluster runs, e.g. \"1.35\"")
    for component in sorted(versions):
        if not known_ok[component] or component == "kubernetes":
            continue
        if k8s is not None and known_ok.get("kubernetes"):
            range_errors, range_warnings = check_kubernetes_range(component, versions[component], k8s, matrix)
            errors += range_errors
            warnings += range_warnings
        errors += check_ties(component, versions[component], versions, matrix)
        warnings += check_support(component, versions[component], matrix, today)
        warnings += check_newest(component, versions[component], matrix)
    if k8s is not None and known_ok.get("kubernetes"):
        warnings += check_support("kubernetes", k8s, matrix, today)
    return errors, warnings
