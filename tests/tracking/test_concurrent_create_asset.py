"""Duplicates are refused by the database constraint, not only by a prior SELECT."""

import threading

import pytest
from django.db import connection, connections

from tests.tracking.recording_helpers import SHA_A
from tracking import services
from tracking.errors import Duplicate
from tracking.models import Asset

WRITERS = 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_asset_when_many_requests_race_with_one_sha256(alice):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every writer")
    barrier = threading.Barrier(WRITERS)
    created: list[str] = []
    duplicates: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            result = services.create_asset(
                user=alice,
                asset_url=f"s3://bucket/copy-{n}.png",
                asset_type="image",
                asset_source="generated",
                sha256sum=SHA_A,
            )
            with lock:
                created.append(result["asset_id"])
        except Duplicate as exc:
            with lock:
                duplicates.append(exc.message)
        except BaseException as exc:  # collected and asserted below
            with lock:
                unexpected.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert unexpected == []
    assert len(created) == 1
    assert Asset.objects.filter(sha256sum=SHA_A).count() == 1
    assert len(duplicates) == WRITERS - 1
    expected = f"An asset with this sha256sum already exists (asset_id {created[0]})"
    assert set(duplicates) == {expected}
