# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible.errors import AnsibleError

from ansible_collections.mlops.kserve_gke.plugins.lookup import pinned

PINS = {"kserve_gke_version_defaults": {"kserve": "0.20.0", "knative": "1.22.1"},
        "kserve_gke_artifact_checksums": {"a/b.yaml": "a" * 64}}


def test_the_collections_pins_file_is_read():
    pins = pinned.read_pins()
    assert set(pins["kserve_gke_version_defaults"]) >= {"kubernetes", "kserve", "knative", "net_istio", "istio",
                                                        "cert_manager"}


def test_versions_put_the_inventorys_over_the_pins():
    assert pinned.versions(PINS, {"kserve": "0.19.1"}) == {"kserve": "0.19.1", "knative": "1.22.1"}
    assert pinned.versions(PINS, None) == PINS["kserve_gke_version_defaults"]


@pytest.mark.parametrize("overrides, message", [
    ({"kserv": "0.20.0"}, "kserve_gke_versions names kserv, which the collection does not pin. Fix: use some of "
                          "knative, kserve"),
    (["kserve"], "kserve_gke_versions must be a mapping"),
])
def test_versions_refuse_what_is_not_a_pin(overrides, message):
    with pytest.raises(AnsibleError, match=message):
        pinned.versions(PINS, overrides)


def test_checksums_put_the_inventorys_over_the_pins():
    assert pinned.checksums(PINS, {"c/d.yaml": "sha256:" + "b" * 64}) == {"a/b.yaml": "a" * 64,
                                                                          "c/d.yaml": "sha256:" + "b" * 64}


def test_checksums_refuse_a_value_that_is_no_sha256():
    with pytest.raises(AnsibleError, match="the value for c/d.yaml is not a sha256"):
        pinned.checksums(PINS, {"c/d.yaml": "abc"})
