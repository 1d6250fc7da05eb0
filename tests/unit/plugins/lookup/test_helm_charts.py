# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The helm_charts lookup with a stand-in helm (a script that records its arguments): charts read from a
file:// directory, checked against their pins before Helm sees them, rendered in order, values passed, and each
failure named with its fix. The real helm renders Istio's charts in tests/lab/test_istio_helm.py."""
from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.mlops.kserve_gke.plugins.lookup.helm_charts import render_charts

CHARTS = [{"chart": "base", "file": "base-1.0.0.tgz", "release": "istio-base"},
          {"chart": "istiod", "file": "istiod-1.0.0.tgz", "release": "istiod"}]

FAKE_HELM = """#!/bin/sh
# Prints what it was asked to render and the values file's content; fails for release "broken".
[ "$2" = broken ] && { echo "Error: parse error in template" >&2; exit 1; }
printf 'kind: Rendered\\nrelease: %s\\nchart: %s\\nargs: "%s"\\nvalues: %s\\n' "$2" "$(basename "$3")" "$*" "$(cat "$8")"
"""


@pytest.fixture
def repo(tmp_path):
    for chart in CHARTS:
        (tmp_path / chart["file"]).write_bytes(b"package " + chart["chart"].encode())
    helm = tmp_path / "helm"
    helm.write_text(FAKE_HELM)
    helm.chmod(helm.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def render(repo, charts=None, **options):
    options = dict({"helm": str(repo / "helm")}, **options)
    return render_charts(charts or CHARTS, "file://%s" % repo, "istio-system", **options)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_each_chart_is_rendered_in_order_with_its_values(repo):
    out = render(repo, values={"istiod": {"tag": "1.29.0"}},
                 checksums={"istio-release/charts/base-1.0.0.tgz": sha(b"package base")})
    assert [o.split("\n")[1] for o in out] == ["release: istio-base", "release: istiod"]
    assert "chart: istiod-1.0.0.tgz" in out[1]
    assert "--namespace istio-system --include-crds" in out[1]
    assert json.loads(out[1].split("values: ", 1)[1]) == {"tag": "1.29.0"}
    assert json.loads(out[0].split("values: ", 1)[1]) == {}


def test_the_scratch_directory_is_removed(repo, tmp_path_factory, monkeypatch):
    scratch_root = tmp_path_factory.mktemp("scratch")
    monkeypatch.setenv("TMPDIR", str(scratch_root))
    import tempfile  # pylint: disable=import-outside-toplevel
    monkeypatch.setattr(tempfile, "tempdir", None)
    render(repo)
    assert os.listdir(scratch_root) == []


def test_a_chart_that_is_not_the_pinned_one_stops_before_helm_reads_it(repo):
    with pytest.raises(AnsibleLookupError) as failed:
        render(repo, checksums={"istio-release/charts/istiod-1.0.0.tgz": "0" * 64})
    message = str(failed.value)
    assert "istiod-1.0.0.tgz: the chart is not the one pinned in kserve_gke_checksums" in message
    assert "has sha256 %s" % sha(b"package istiod") in message
    assert "Fix: check the source; update the pin with scripts/release-checksums" in message


def test_a_missing_chart_names_the_file_and_where_charts_come_from(repo):
    with pytest.raises(AnsibleLookupError) as failed:
        render(repo, charts=[{"chart": "gateway", "file": "gateway-9.9.9.tgz", "release": "gw"}])
    assert "gateway-9.9.9.tgz: Cannot read %s/gateway-9.9.9.tgz" % repo in str(failed.value)
    assert "set istio_helm_repo (or kserve_gke_release_dir" in str(failed.value)


def test_helms_own_words_come_back_when_it_fails(repo):
    with pytest.raises(AnsibleLookupError) as failed:
        render(repo, charts=[dict(CHARTS[0], release="broken")])
    assert "helm template broken (base-1.0.0.tgz) failed: Error: parse error in template" in str(failed.value)


def test_a_helm_that_does_not_exist_is_named(repo):
    with pytest.raises(AnsibleLookupError) as failed:
        render(repo, helm=str(repo / "no-such-helm"))
    assert "helm template istio-base failed" in str(failed.value) and "istio_helm_binary" in str(failed.value)
