# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pinned
short_description: The collection's version pins and release checksums, with the inventory's over them
version_added: "0.4.0"
description:
  - The one reader of the collection's pins, so that every role takes its versions and checksums on its own
    (run alone, or with C(--skip-tags always)), and the validation play checks the same values.
  - V(versions) is the collection's C(playbooks/vars/versions.yml) C(kserve_gke_version_defaults), with
    C(kserve_gke_versions) from the inventory over it. A key that is not a component the collection pins is
    refused, naming the ones it pins.
  - V(checksums) is C(kserve_gke_artifact_checksums) of that file with C(kserve_gke_checksums) over it, each a
    release file's path under C(https://github.com/) (or C(istio-release/charts/<file>)) and its sha256. A value
    that is not a sha256 is refused, naming the path.
author:
  - kserve_gke contributors (@mlops)
options:
  _terms:
    description: V(versions) or V(checksums).
    required: true
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Show the KServe version this run installs
  ansible.builtin.debug:
    msg: "{{ lookup('mlops.kserve_gke.pinned', 'versions').kserve }}"
"""

RETURN = r"""
_raw:
  description: One dict per term.
  type: list
  elements: dict
"""

import functools
import os
import re

import yaml
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

PINS_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "vars", "versions.yml")
SHA256 = re.compile(r"^(sha256:)?[0-9a-fA-F]{64}$")


@functools.lru_cache(maxsize=4)
def read_pins(path=PINS_FILE):
    """The collection's pins file, read once per process: role defaults call the lookup each time a task
    templates them. Callers must not change what it returns."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def versions(pins, overrides):
    """The pinned versions with the user's over them; unknown components refused."""
    defaults = pins.get("kserve_gke_version_defaults") or {}
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise AnsibleError("kserve_gke_versions must be a mapping of component to version, got %r. Fix: write it "
                           "as {kserve: \"0.20.0\"}" % (overrides,))
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise AnsibleError("kserve_gke_versions names %s, which the collection does not pin. Fix: use some of %s"
                           % (", ".join(unknown), ", ".join(sorted(defaults))))
    merged = dict(defaults)
    merged.update({k: str(v) for k, v in overrides.items() if v is not None})
    return merged


def checksums(pins, overrides):
    """The pinned release checksums with the user's over them; a value that is no sha256 refused."""
    merged = dict(pins.get("kserve_gke_artifact_checksums") or {})
    if not isinstance(overrides or {}, dict):
        raise AnsibleError("kserve_gke_checksums must be a mapping of release file path to sha256, got %r"
                           % (overrides,))
    merged.update(overrides or {})
    bad = sorted(path for path, value in merged.items() if not SHA256.match(str(value)))
    if bad:
        raise AnsibleError("kserve_gke_checksums: the value for %s is not a sha256 (64 hex digits). Fix: record it "
                           "with scripts/release-checksums DIR from a mirror you trust" % ", ".join(bad))
    return merged


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        pins = read_pins()
        found = []
        for term in terms:
            if term == "versions":
                found.append(versions(pins, self._templar.template(variables.get("kserve_gke_versions", {}))))
            elif term == "checksums":
                found.append(checksums(pins, self._templar.template(variables.get("kserve_gke_checksums", {}))))
            else:
                raise AnsibleError("lookup mlops.kserve_gke.pinned takes versions or checksums, not %r" % term)
        return found
