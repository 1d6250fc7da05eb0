# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils.cluster import (
    Cluster, NotFoundError, NotServed, ResourceNotFoundError, retryable_failure)

# Messages as kubernetes.core 6.2 k8s_info words them against the lab with faults injected.
SERVICE_UNAVAILABLE = ("Exception '503\nReason: Service Unavailable\nHTTP response headers: HTTPHeaderDict({...})\n"
                       "HTTP response body: {\"kind\": \"Status\", \"code\": 503}' raised while trying to get resource")
DROPPED = ("Exception 'HTTPSConnectionPool(host='127.0.0.1', port=48747): Max retries exceeded with url: "
           "/api/v1/namespaces (Caused by ProtocolError('Connection aborted.', RemoteDisconnected('Remote end "
           "closed connection without response')))' raised while trying to get resource using {}")


@pytest.mark.parametrize("result, expected", [
    ({"failed": True, "msg": SERVICE_UNAVAILABLE}, True),
    ({"failed": True, "msg": SERVICE_UNAVAILABLE.replace("503", "429").replace("Service Unavailable",
                                                                               "Too Many Requests")}, True),
    ({"failed": True, "msg": "Failed to get client due to (500)\nReason: Internal Server Error"}, True),
    ({"failed": True, "msg": DROPPED}, True),
    ({"failed": True, "msg": "Failed to get client due to HTTPSConnectionPool(host='10.0.0.2', port=443): Max "
                             "retries exceeded (Caused by NewConnectionError(... [Errno 111] Connection refused))"}, True),
    ({"failed": True, "msg": "x", "status": 504}, True),
    ({"failed": True, "msg": 'Failed to create object: {"kind": "Status", "reason": "TooManyRequests", "code": 429}',
      "reason": "Too Many Requests"}, True),
    ({"failed": True, "msg": 'Failed to retrieve requested object: {"kind": "Status", "code": 503}',
      "reason": "Service Unavailable"}, True),
    ({"failed": True, "msg": 'Failed to create object: {"kind": "Status", "reason": "AlreadyExists", "code": 409}',
      "reason": "Conflict"}, False),
    ({"failed": True, "exception": "(traceback unavailable)", "changed": False}, True),  # a crash, unreadable yet
    ({"failed": True, "msg": "Failed to find exact match for cert-manager.io/v1.Issuer by [kind, name, "
                             "singularName, shortNames]"}, True),  # discovery met a 503 and saw an empty group
    ({"failed": True, "msg": "Exception '403\nReason: Forbidden\n...' raised while trying to get resource"}, False),
    ({"failed": True, "msg": "Exception '404\nReason: Not Found' raised"}, False),
    ({"failed": True, "msg": "kind 5030 has 503 items"}, False),
    ({"failed": False, "msg": SERVICE_UNAVAILABLE}, False),
    ({"changed": False, "resources": []}, False),
    (None, False),
])
def test_retryable_failure_tells_transient_from_lasting(result, expected):
    assert retryable_failure(result) is expected


class FakeResources:
    """dynamic.resources: answers get() from a script of outcomes, counting cache refreshes."""

    def __init__(self, outcomes):
        self.outcomes, self.refreshed = list(outcomes), 0

    def get(self, api_version, kind):
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, type) and issubclass(outcome, Exception):
            raise outcome.__new__(outcome)
        return outcome

    def invalidate_cache(self):
        self.refreshed += 1


def cluster_with(outcomes):
    cluster = Cluster.__new__(Cluster)
    cluster.dynamic = type("Dynamic", (), {})()
    cluster.dynamic.resources = FakeResources(outcomes)
    cluster._resources = {}  # pylint: disable=protected-access
    return cluster


@pytest.mark.parametrize("outcomes, served, refreshed", [
    (["pods"], True, 0),
    ([ResourceNotFoundError, "certificates"], True, 1),  # a CRD established since the cache was filled
    ([NotFoundError, "certificates"], True, 1),  # discovery's 404 for a group version in flux
    ([ResourceNotFoundError, ResourceNotFoundError], False, 1),
    ([NotFoundError, NotFoundError], False, 1),
])
def test_a_kind_is_found_after_one_refresh_or_not_served(outcomes, served, refreshed):
    cluster = cluster_with(outcomes)
    if served:
        assert cluster.resource("v1", "Kind") == outcomes[-1]
        assert cluster.resource("v1", "Kind") == outcomes[-1]  # found once, kept
    else:
        with pytest.raises(NotServed):
            cluster.resource("v1", "Kind")
    assert cluster.dynamic.resources.refreshed == refreshed
