# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gcs_bucket's create when GCS answers 409: its own bucket (a retried create whose first answer was lost) is taken
as created; a name another project holds stays an error naming the option."""
from __future__ import annotations

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils.gcp import GcpError
from ansible_collections.mlops.kserve_gke.plugins.modules import gcs_bucket


class Session:
    """Answers POST with a 409 and GET with `readable` (a bucket), None (404) or a GcpError (403)."""

    project = "p"

    def __init__(self, readable):
        self.readable, self.calls = readable, []

    def call(self, method, path, **_kwargs):
        self.calls.append((method, path))
        if method == "POST":
            raise GcpError("Creating bucket b failed with HTTP 409: You already own this bucket.", status=409)
        if isinstance(self.readable, Exception):
            raise self.readable
        return self.readable


def test_a_retried_create_of_our_own_bucket_is_taken_as_created():
    session = Session({"name": "b", "location": "US-CENTRAL1"})
    assert gcs_bucket._create(session, {"name": "b"}) == {"name": "b", "location": "US-CENTRAL1"}
    assert session.calls == [("POST", "storage/v1/b"), ("GET", "storage/v1/b/b")]


@pytest.mark.parametrize("readable", [None, GcpError("403 no access", status=403)])
def test_a_name_held_elsewhere_stays_a_409_naming_the_option(readable):
    with pytest.raises(GcpError) as raised:
        gcs_bucket._create(Session(readable), {"name": "b"})
    assert raised.value.status == 409 and raised.value.field == "name"
