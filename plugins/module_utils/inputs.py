# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the collection's inventory variables, as pure functions.

Every check returns messages instead of raising, so that one run reports
every problem at once. A message names the variable, says what is wrong
and says how to fix it.
"""

from __future__ import annotations

import os
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcs import prefix_problem, savedmodel_problem

# Google Cloud project IDs: 6 to 30 characters, lowercase letters, digits and
# hyphens, starting with a letter and not ending with a hyphen.
PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# Regions look like "europe-west4"; zones add "-a".."-z" to a region.
REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
ZONE_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
# GKE cluster names: at most 40 characters, lowercase letters, digits and
# hyphens, starting with a letter and ending with a letter or digit.
CLUSTER_RE = re.compile(r"^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$")
# Bucket names (the common, dot-free form): 3 to 63 characters.
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")
MACHINE_TYPE_RE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9-]+$")

# Which accelerator fits which machine family on GKE: T4 (and the older
# Pascal/Volta cards) attach to N1 machines, L4 comes built into G2.
ACCELERATOR_FAMILIES = {
    "nvidia-tesla-t4": ("n1",),
    "nvidia-tesla-p4": ("n1",),
    "nvidia-tesla-v100": ("n1",),
    "nvidia-tesla-p100": ("n1",),
    "nvidia-l4": ("g2",),
    "nvidia-tesla-a100": ("a2",),
    "nvidia-a100-80gb": ("a2",),
    "nvidia-h100-80gb": ("a3",),
}

# Variables users may know from the original walk-through or from the
# google.cloud collection, and the name this collection reads instead.
RENAMED_VARIABLES = {
    "gcp_project": "kserve_gke_project",
    "gke_project": "kserve_gke_project",
    "gcp_zone": "kserve_gke_location",
    "gcp_region": "kserve_gke_location",
    "gke_zone": "kserve_gke_location",
    "cluster_name": "kserve_gke_cluster_name",
    "gke_cluster": "kserve_gke_cluster_name",
    "gcp_cred_kind": "kserve_gke_auth_kind",
    "gcp_cred_file": "kserve_gke_service_account_file",
    "gcs_bucket": "gcs_model_bucket",
    "model_dir": "gcs_model_source",
}

# Variables that no longer do anything, with the reason and what to do.
REMOVED_VARIABLES = {
    "cert_manager_namespace": (
        "cert-manager installs where its release file says (cert-manager, with leader-election Roles in "
        "kube-system); the role only waited on this name, and k8s_component reads the namespaces from the "
        "release; remove it"
    ),
    "istio_address_timeout": (
        "the wait for the ingress gateway's address is part of the gateway's wait; set istio_wait_timeout instead"
    ),
    "gcs_model_make_public": (
        "a public bucket does not let the predictor read the model on GKE "
        "(the storage-initializer uses node or Workload Identity credentials); "
        "remove it and keep gcs_model_public_read false"
    ),
}

AUTH_KINDS = ("application", "serviceaccount", "accesstoken")


def _problem(name, what, fix):
    return "%s: %s. Fix: %s" % (name, what, fix)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_empty(value):
    return value is None or (isinstance(value, str) and not value.strip())


def check_required(config, required):
    """Return a problem for each required variable that is missing or empty."""
    return [_problem(name, "is required but not set", fix)
            for name, fix in required.items() if _is_empty(config.get(name))]


def _check_pattern(name, value, pattern, what, fix):
    return [] if pattern.match(str(value)) else [_problem(name, "%r is %s" % (value, what), fix)]


def check_project(value, name="kserve_gke_project"):
    return _check_pattern(
        name, value, PROJECT_RE, "not a Google Cloud project ID",
        "use the project ID (not its name or number): 6-30 lowercase letters, "
        "digits or hyphens, starting with a letter, e.g. my-ml-project")


def location_kind(value):
    """Return 'zone', 'region' or None for a GCP location string."""
    value = str(value)
    if ZONE_RE.match(value):
        return "zone"
    if REGION_RE.match(value):
        return "region"
    return None


def check_location(value, name="kserve_gke_location"):
    if location_kind(value):
        return []
    return [_problem(
        name, "%r is neither a region nor a zone" % (value,),
        "use a region such as us-central1 (regional cluster) or a zone such "
        "as us-central1-a (zonal cluster)",
    )]


def check_cluster_name(value, name="kserve_gke_cluster_name"):
    return _check_pattern(
        name, value, CLUSTER_RE, "not a valid GKE cluster name",
        "use at most 40 lowercase letters, digits or hyphens, starting with a "
        "letter and ending with a letter or digit")


def check_bucket(value, name="gcs_model_bucket"):
    value = str(value)
    problems = _check_pattern(
        name, value, BUCKET_RE, "not a valid bucket name",
        "use 3-63 lowercase letters, digits, hyphens or underscores, "
        "starting and ending with a letter or digit")
    if problems:
        return problems
    if value.startswith("goog") or "google" in value:
        return [_problem(
            name, "%r is reserved by Google" % (value,),
            "bucket names cannot start with 'goog' or contain 'google'",
        )]
    return []


def check_accelerator(machine_type, gpu_type, gpu_count,
                      names=("gke_cluster_gpu_machine_type",
                             "gke_cluster_gpu_type",
                             "gke_cluster_gpu_count")):
    """Check the GPU node pool's machine type, accelerator type and count."""
    mt_name, type_name, count_name = names
    problems = []
    if machine_type is not None and not MACHINE_TYPE_RE.match(str(machine_type)):
        problems.append(_problem(
            mt_name, "%r is not a machine type" % (machine_type,),
            "use a Compute Engine machine type such as n1-standard-4 or g2-standard-8",
        ))
    if gpu_type is None:
        return problems
    if gpu_type not in ACCELERATOR_FAMILIES:
        problems.append(_problem(
            type_name, "%r is not a GPU type this collection knows" % (gpu_type,),
            "use one of %s" % ", ".join(sorted(ACCELERATOR_FAMILIES)),
        ))
        return problems
    if gpu_count is not None and (not _is_int(gpu_count) or gpu_count < 1):
        problems.append(_problem(
            count_name, "must be a whole number of at least 1 when %s is set (got %r)"
            % (type_name, gpu_count),
            "set %s: 1, or unset %s for a node pool without GPUs" % (count_name, type_name),
        ))
    if machine_type is not None and MACHINE_TYPE_RE.match(str(machine_type)):
        family = str(machine_type).split("-", 1)[0]
        families = ACCELERATOR_FAMILIES[gpu_type]
        if family not in families:
            problems.append(_problem(
                type_name, "%s does not attach to %s machines (%s is %s)"
                % (gpu_type, family.upper(), mt_name, machine_type),
                "use a %s machine type with %s, e.g. %s-standard-4"
                % ("/".join(f.upper() for f in families), gpu_type, families[0]),
            ))
    return problems


def check_auth(config):
    """Check the GCP authentication settings."""
    kind = config.get("kserve_gke_auth_kind")
    if kind is None:
        return []
    if kind not in AUTH_KINDS:
        return [_problem(
            "kserve_gke_auth_kind", "%r is not an authentication kind" % (kind,),
            "use one of %s" % ", ".join(AUTH_KINDS),
        )]
    if kind == "serviceaccount" and not config.get("kserve_gke_service_account_file"):
        return [_problem(
            "kserve_gke_service_account_file",
            "is required when kserve_gke_auth_kind is serviceaccount",
            "point it at a service-account key file, or use application "
            "default credentials",
        )]
    return []


def check_renamed(defined_names, renamed=None, removed=None):
    """Flag variables that were renamed or removed.

    Returns (errors, warnings): a renamed variable set without its new name is
    an error (the setting would silently be ignored); one set alongside its
    new name is a warning; a removed variable is an error with the reason.
    """
    renamed = RENAMED_VARIABLES if renamed is None else renamed
    removed = REMOVED_VARIABLES if removed is None else removed
    defined = set(defined_names)
    errors, warnings = [], []
    for old in sorted(defined & set(renamed)):
        new = renamed[old]
        if new in defined:
            warnings.append("%s is ignored: %s is set and takes its place. "
                            "Remove %s from the inventory." % (old, new, old))
        else:
            errors.append(_problem(old, "was renamed and is not read any more",
                                   "rename it to %s" % new))
    for old in sorted(defined & set(removed)):
        errors.append(_problem(old, "was removed", removed[old]))
    return errors, warnings


REQUIRED = {
    "kserve_gke_project": "set it in group_vars/all/gcp.yml to your Google Cloud project ID",
    "kserve_gke_location": "set it in group_vars/all/gcp.yml to a region (us-central1) or zone (us-central1-a)",
    "kserve_gke_cluster_name": "set it in group_vars/all/gcp.yml, e.g. kserve-gpu",
}


def check_model_source(config):
    """A TensorFlow model directory must be a SavedModel layout, checked before any bucket is made."""
    source = config.get("gcs_model_source")
    if not source or config.get("gcs_model_format", "tensorflow") != "tensorflow":
        return []
    problem = savedmodel_problem(os.path.expanduser(str(source)))
    return [problem.replace(str(source), "gcs_model_source: %s" % source, 1)] if problem else []


def check_public_read(config):
    """Public read needs public access prevention lifted, or GCS refuses it half-way through a run."""
    wants_public = str(config.get("gcs_model_public_read", False)).lower() in ("true", "yes", "1")
    if wants_public and config.get("gcs_model_public_access_prevention", "enforced") == "enforced":
        return [_problem("gcs_model_public_read", "is true while gcs_model_public_access_prevention is enforced, "
                         "and GCS refuses public grants then",
                         "keep the bucket private (the predictor reads it through Workload Identity), or also "
                         "set gcs_model_public_access_prevention: inherited to opt in to public read")]
    return []


DEPLOYMENT_MODES = ("Knative", "Standard")
# KServe 0.16 renamed its deployment modes; the old names are still accepted upstream.
OLD_DEPLOYMENT_MODES = {"Serverless": "Knative", "RawDeployment": "Standard"}


def current_deployment_mode(mode):
    """The current name of a deployment mode (old names mapped; anything else as given)."""
    return OLD_DEPLOYMENT_MODES.get(mode, mode)


def check_deployment_mode(config):
    """(errors, warnings) for kserve_deployment_mode."""
    mode = config.get("kserve_deployment_mode")
    if mode is None or mode in DEPLOYMENT_MODES:
        return [], []
    if mode in OLD_DEPLOYMENT_MODES:
        return [], ["kserve_deployment_mode: %s is the name KServe used before 0.16; it still works, but write %s"
                    % (mode, OLD_DEPLOYMENT_MODES[mode])]
    return [_problem("kserve_deployment_mode", "%r is not a KServe deployment mode" % (mode,),
                     "use Knative (the default: scale to zero, needs Knative and Istio) or Standard (plain "
                     "Deployments, no Knative or Istio mesh needed)")], []


# Classes GKE's own Ingress controller answers to, but only through the kubernetes.io/ingress.class annotation.
GKE_INGRESS_CLASSES = ("gce", "gce-internal")


def check_ingress_class(config):
    """KServe writes the class into spec.ingressClassName only, which GKE's Ingress controller ignores."""
    mode = config.get("kserve_deployment_mode", "Knative")
    klass = config.get("kserve_ingress_class_name")
    if OLD_DEPLOYMENT_MODES.get(mode, mode) != "Standard" or klass not in GKE_INGRESS_CLASSES:
        return []
    return [_problem("kserve_ingress_class_name", "%r would be written into spec.ingressClassName of KServe's "
                     "Ingresses, and GKE's Ingress controller ignores an Ingress that names its class only there "
                     "(it reads the kubernetes.io/ingress.class annotation), so no load balancer would be made"
                     % (klass,),
                     "leave kserve_ingress_class_name empty: GKE's controller then serves the Ingress with an "
                     "external Application Load Balancer (for an internal one, annotate the InferenceService with "
                     "kubernetes.io/ingress.class: gce-internal; KServe copies its annotations onto the Ingress)")]


ISTIO_INSTALL_METHODS = ("manifest", "helm")
ISTIO_CHARTS = ("base", "istiod", "gateway")
# The oldest Helm the istio role's Helm path is tested with.
MIN_HELM = (3, 10)
HELM_FIX = ("install Helm %d.%d or newer (https://helm.sh/docs/intro/install/) on the controller, or set "
            "istio_helm_binary to it, or use istio_install_method: manifest, which needs no binary" % MIN_HELM)


def check_istio_install(config):
    """Problems with istio_install_method and the Helm values."""
    method = config.get("istio_install_method")
    if method is not None and method not in ISTIO_INSTALL_METHODS:
        return [_problem("istio_install_method", "%r is not an install method" % (method,),
                         "use manifest (net-istio's istio.yaml, the default) or helm (Istio's charts at the pin)")]
    values = config.get("istio_helm_values")
    if values is None:
        return []
    if not isinstance(values, dict):
        return [_problem("istio_helm_values", "must be a mapping of chart name to values",
                         "write {base: {}, istiod: {...}, gateway: {...}}")]
    unknown = sorted(set(values) - set(ISTIO_CHARTS))
    return [_problem("istio_helm_values", "%s %s not one of Istio's charts" % (
        ", ".join(unknown), "is" if len(unknown) == 1 else "are"),
        "key the values by chart: %s" % ", ".join(ISTIO_CHARTS))] if unknown else []


def check_helm(binary, version_output):
    """Problems with the helm binary the Helm path runs: `binary` is the path found (None when none was),
    `version_output` what `helm version --template {{.Version}}` printed."""
    if not binary:
        return [_problem("istio_install_method", "helm needs the helm binary, and none was found", HELM_FIX)]
    found = re.match(r"^v?(\d+)\.(\d+)", (version_output or "").strip())
    if not found:
        return [_problem("istio_helm_binary", "%s did not say its version (%r)" % (binary, version_output), HELM_FIX)]
    if tuple(int(part) for part in found.groups()) < MIN_HELM:
        return [_problem("istio_helm_binary", "%s is Helm %s, older than %d.%d" % (
            (binary, version_output.strip()) + MIN_HELM), HELM_FIX)]
    return []


def _without_required(spec):
    """An option's spec for checking a value that is given: required and defaults do not apply to it, while
    its suboptions keep theirs (an InferenceService item without a name is still refused)."""
    return {k: v for k, v in spec.items() if k not in ("required", "default")}


# Variables with checks of their own above, whose messages say more than a type or choice error.
CHECKED_ON_THEIR_OWN = frozenset(("kserve_deployment_mode", "istio_install_method", "istio_helm_values",
                                  "gcs_model_prefix", "gcs_model_bucket", "gcs_model_source"))


def check_role_settings(config, role_specs):
    """Each role variable the inventory sets, checked against its role's meta/argument_specs.yml (type, choices,
    suboptions) with Ansible's own validator, as the role would check it when it runs; here, before any change.

    role_specs: {role: {option: spec}}, the `main` entry point's options of each role.
    """
    errors = []
    for role, options in sorted((role_specs or {}).items()):
        for name in sorted((set(options) & set(config)) - CHECKED_ON_THEIR_OWN):
            if config[name] is None:
                continue
            spec = _without_required(options[name])
            result = ArgumentSpecValidator({name: spec}).validate({name: config[name]})
            for message in result.error_messages:
                if spec.get("choices"):
                    fix = "use one of %s" % ", ".join(str(c) for c in spec["choices"])
                else:
                    fix = "give it as the role documents it (ansible-doc -t role mlops.kserve_gke.%s)" % role
                errors.append(_problem(name, message.rstrip("."), fix))
    return errors


def check_config(config, defined_names=(), role_specs=None):
    """Check every known inventory variable; return (errors, warnings)."""
    errors = check_required(config, REQUIRED)
    present = {k: v for k, v in config.items() if not _is_empty(v)}
    if "kserve_gke_project" in present:
        errors += check_project(present["kserve_gke_project"])
    if "kserve_gke_location" in present:
        errors += check_location(present["kserve_gke_location"])
    if "kserve_gke_cluster_name" in present:
        errors += check_cluster_name(present["kserve_gke_cluster_name"])
    if "gcs_model_bucket" in present:
        errors += check_bucket(present["gcs_model_bucket"])
    problem = prefix_problem(present["gcs_model_prefix"], "gcs_model_prefix") if "gcs_model_prefix" in present \
        else None
    if problem:
        errors.append(problem)
    errors += check_accelerator(present.get("gke_cluster_gpu_machine_type"),
                                present.get("gke_cluster_gpu_type"),
                                present.get("gke_cluster_gpu_count"))
    errors += check_auth(present)
    errors += check_model_source(present)
    errors += check_public_read(present)
    errors += check_istio_install(present)
    errors += check_ingress_class(present)
    errors += check_role_settings(present, role_specs)
    mode_errors, mode_warnings = check_deployment_mode(present)
    renamed_errors, warnings = check_renamed(defined_names)
    return errors + mode_errors + renamed_errors, warnings + mode_warnings
