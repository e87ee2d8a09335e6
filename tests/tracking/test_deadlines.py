"""Total deadlines on outbound calls: slow upstreams get a clear 502, never a stuck worker.

Every server here is a loopback ``DripServer`` sending one byte a second; the limits are
set low so each test takes a few seconds.
"""

import json
import threading
import time

import pytest
import requests
from django.urls import reverse

from civitrack.http import Deadline, UpstreamError, build_session, iter_at_min_rate, request_json
from tests.fakes.drip_server import DripServer
from tracking import hashing
from tracking.errors import Busy, UpstreamFailure
from tracking.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def drip(settings):
    settings.HASH_ALLOW_PRIVATE_URLS = True
    settings.HASH_TIMEOUT = 2
    settings.HTTP_TOTAL_TIMEOUT = 2
    settings.HTTP_READ_TIMEOUT = 5
    with DripServer(interval=0.5) as server:
        yield server


def call_api(client, user, name, body):
    token = ApiToken.issue(user, name="deadline")[1]
    return client.post(
        reverse("api:tool", args=[name]),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.mark.parametrize("path", ["/drip", "/drip-no-length", "/slow-headers"])
def test_a_dribbling_server_gets_the_contract_502_after_hash_timeout(client, alice, drip, path):
    started = time.monotonic()

    response = call_api(client, alice, "calculate_sha256", {"path": drip.url + path})

    elapsed = time.monotonic() - started
    assert response.status_code == 502, response.content
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert "timed out after 2s (HASH_TIMEOUT" in error["message"]
    assert elapsed < 4


def test_retry_after_pauses_stop_at_the_deadline(drip, settings):
    settings.HASH_TIMEOUT = 2.5
    started = time.monotonic()

    with pytest.raises(UpstreamFailure) as exc:
        hashing.hash_path(drip.url + "/busy")

    assert time.monotonic() - started < 4
    assert "timed out" in exc.value.message and "2.5s" in exc.value.message
    assert drip.hits["/busy"] <= 3


def test_api_clients_stop_at_http_total_timeout(drip):
    session = build_session()
    started = time.monotonic()

    with pytest.raises(UpstreamError) as exc:
        request_json(session, "GET", drip.url + "/drip", what="Civitai site")

    assert time.monotonic() - started < 4
    assert "timed out after 2s (HTTP_TOTAL_TIMEOUT" in str(exc.value)


def test_a_deadline_covers_every_redirect_and_retry_of_one_call(drip):
    session = build_session()
    with Deadline(1.5, "HASH_TIMEOUT"), pytest.raises(requests.exceptions.Timeout):
        session.get(drip.url + "/busy")


def test_a_download_to_disk_below_the_minimum_rate_stops(drip, settings):
    settings.HTTP_READ_TIMEOUT = 1
    session = build_session()
    response = session.get(drip.url + "/drip", stream=True)
    started = time.monotonic()

    with pytest.raises(UpstreamError, match="HTTP_MIN_DOWNLOAD_RATE"):
        for _chunk in iter_at_min_rate(response, 65536, min_rate=100):
            pass

    assert time.monotonic() - started < 3
    response.close()


def test_hashes_beyond_the_per_process_cap_get_503_with_retry_after(client, alice, drip, settings):
    settings.HASH_MAX_CONCURRENT = 1
    settings.HASH_TIMEOUT = 3
    outcome = []

    def slow_hash():
        try:
            hashing.hash_path(drip.url + "/drip")
        except UpstreamFailure as exc:
            outcome.append(exc.message)

    running = threading.Thread(target=slow_hash)
    running.start()
    deadline = time.monotonic() + 2
    while drip.hits["/drip"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)

    response = call_api(client, alice, "calculate_sha256", {"path": drip.url + "/drip"})

    running.join()
    assert outcome and "timed out" in outcome[0]
    assert response.status_code == 503
    assert response["Retry-After"] == "3"
    assert response.json()["error"]["code"] == "busy"
    assert "HASH_MAX_CONCURRENT" in response.json()["error"]["message"]
    # No slot leaks: after the slow one ended exactly one is free again.
    with pytest.raises(Busy), hashing._hash_slot(), hashing._hash_slot():
        pass
