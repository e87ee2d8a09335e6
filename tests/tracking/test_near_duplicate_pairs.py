"""The near-duplicate pairs page and its decisions (issue 16, item 3)."""

from __future__ import annotations

import itertools
import random
import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse

from tests.conftest import table_counts
from tracking import near_duplicates, services
from tracking.errors import Forbidden, InvalidInput, RecordNotFound
from tracking.file_facts import FileFacts
from tracking.models import Asset, NearDuplicateDecision
from tracking.perceptual import to_signed

pytestmark = pytest.mark.django_db

URL = "/admin/tracking/asset/near-duplicates/"
BASE = 0x9F3A_5C71_0E2D_B486


def flip(value: int, *bits: int) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


_numbers = itertools.count(1)


def hashed_asset(phash: int | None, user=None, *, kind: str = "image") -> Asset:
    asset = Asset(
        asset_url=f"https://cdn.example/{next(_numbers)}.{'mp4' if kind == 'video' else 'png'}",
        asset_type=kind,
        asset_source="generated",
        created_by=user,
    )
    if phash is not None:
        asset.set_perceptual(FileFacts(kind=kind, phash=to_signed(phash), dhash=0))
    asset.save()
    return asset


def pair_ids(page) -> list[tuple[int, int, int]]:
    return [(p.low.pk, p.high.pk, p.distance) for p in page.pairs]


def test_it_finds_pairs_within_k_closest_first_once_each():
    a = hashed_asset(BASE)
    b = hashed_asset(flip(BASE, 0, 17, 33, 63))  # 4 bits away, one in every band
    c = hashed_asset(flip(BASE, 5))  # 1 bit from a, 5 from b
    hashed_asset(BASE ^ 0xFFFF_FFFF_0000_0000)  # 32 bits away: unrelated
    hashed_asset(BASE, kind="video")  # same hash, other media type: not a pair
    hashed_asset(None)  # never hashed

    page = near_duplicates.undecided_pairs(max_distance=8, limit=10)
    assert pair_ids(page) == [(a.pk, c.pk, 1), (a.pk, b.pk, 4), (b.pk, c.pk, 5)]
    assert not page.has_more
    assert pair_ids(near_duplicates.undecided_pairs(max_distance=3, limit=10)) == [(a.pk, c.pk, 1)]
    first = near_duplicates.undecided_pairs(max_distance=8, limit=1, offset=1)
    assert (pair_ids(first), first.has_more) == ([(a.pk, b.pk, 4)], True)


def test_it_finds_pairs_whose_every_band_differs_up_to_the_largest_k():
    rng = random.Random(16)
    for k in range(near_duplicates.MAX_DISTANCE + 1):
        base = rng.getrandbits(64)
        # k bits spread over the four bands as evenly as possible
        bits = [16 * (i % 4) + i // 4 for i in range(k)]
        low, high = hashed_asset(base), hashed_asset(flip(base, *bits))
        found = pair_ids(near_duplicates.undecided_pairs(max_distance=k, limit=200))
        assert (low.pk, high.pk, k) in found
        Asset.objects.filter(pk__in=[low.pk, high.pk]).delete()


def test_decided_pairs_are_not_shown_again(staff):
    a, b, c = hashed_asset(BASE), hashed_asset(flip(BASE, 1)), hashed_asset(flip(BASE, 2))
    services.decide_near_duplicate(
        user=staff, asset_id=b.pk, other_asset_id=a.pk, verdict="not_duplicate", distance=1
    )
    assert pair_ids(near_duplicates.undecided_pairs(max_distance=4, limit=10)) == [
        (a.pk, c.pk, 1),
        (b.pk, c.pk, 2),
    ]
    decision = NearDuplicateDecision.objects.get()
    assert (decision.low_id, decision.high_id) == (a.pk, b.pk)  # stored in canonical order
    assert (decision.verdict, decision.decided_by, decision.distance) == (
        "not_duplicate",
        staff,
        1,
    )

    services.decide_near_duplicate(
        user=staff, asset_id=a.pk, other_asset_id=b.pk, verdict="same_work"
    )
    decision.refresh_from_db()
    assert decision.verdict == "same_work"  # the last word wins, still one row
    assert NearDuplicateDecision.objects.count() == 1
    assert [h.verdict for h in decision.history.order_by("history_date")] == [
        "not_duplicate",
        "same_work",
    ]


def test_the_database_keeps_one_canonical_row_per_pair(staff):
    a, b = hashed_asset(BASE), hashed_asset(flip(BASE, 1))
    NearDuplicateDecision.objects.create(low=a, high=b, verdict="same_work")
    for low, high, verdict in [(a, b, "same_work"), (b, a, "same_work"), (a, a, "same_work")]:
        with pytest.raises(IntegrityError), transaction.atomic():
            NearDuplicateDecision.objects.create(low=low, high=high, verdict=verdict)
    with pytest.raises(IntegrityError), transaction.atomic():
        NearDuplicateDecision.objects.filter(low=a).update(verdict="maybe")


def test_a_decision_follows_the_ownership_rule(alice, django_user_model):
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-1")
    mine, theirs = hashed_asset(BASE, alice), hashed_asset(flip(BASE, 1), bob)
    before = table_counts()
    with pytest.raises(Forbidden):
        services.decide_near_duplicate(
            user=alice, asset_id=mine.pk, other_asset_id=theirs.pk, verdict="same_work"
        )
    with pytest.raises(RecordNotFound):
        services.decide_near_duplicate(
            user=alice, asset_id=mine.pk, other_asset_id=999999, verdict="same_work"
        )
    with pytest.raises(InvalidInput, match="two different assets"):
        services.decide_near_duplicate(
            user=alice, asset_id=mine.pk, other_asset_id=mine.pk, verdict="same_work"
        )
    with pytest.raises(InvalidInput, match="verdict must be one of"):
        own = hashed_asset(flip(BASE, 2), alice)
        services.decide_near_duplicate(
            user=alice, asset_id=mine.pk, other_asset_id=own.pk, verdict="maybe"
        )
    assert table_counts()["tracking_nearduplicatedecision"] == 0
    assert before["tracking_nearduplicatedecision"] == 0


# --- the page -----------------------------------------------------------------------


def test_the_page_shows_pairs_side_by_side_with_their_distance(client, staff):
    a = hashed_asset(BASE)
    b = hashed_asset(flip(BASE, 3, 40))
    client.force_login(staff)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-pair="{a.pk}-{b.pk}"' in html
    assert "distance 2" in html
    assert f'src="{a.asset_url}"' in html and f'src="{b.asset_url}"' in html
    assert 'value="not_duplicate"' in html and 'value="same_work"' in html


def test_the_page_shows_no_preview_for_a_url_the_preview_rules_refuse(client, staff):
    a = hashed_asset(BASE)
    b = hashed_asset(flip(BASE, 3))
    Asset.objects.filter(pk=b.pk).update(asset_url="javascript:alert(1)")
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert f'src="{a.asset_url}"' in html
    assert "javascript:alert(1)" not in html.split("no preview")[0].rsplit("<section", 1)[-1]
    assert 'src="javascript' not in html


def test_a_post_records_the_verdict_and_the_pair_is_gone(client, staff):
    a, b = hashed_asset(BASE), hashed_asset(flip(BASE, 3))
    client.force_login(staff)
    response = client.post(
        URL + "?k=6",
        {"low": a.pk, "high": b.pk, "verdict": "not_duplicate", "distance": 1},
    )
    assert response.status_code == 302
    assert response["Location"] == URL + "?k=6&page=1"
    decision = NearDuplicateDecision.objects.get()
    assert (decision.verdict, decision.decided_by) == ("not_duplicate", staff)
    assert decision.history.get().history_user == staff
    assert f'data-pair="{a.pk}-{b.pk}"' not in client.get(URL).content.decode()


def test_a_bad_post_writes_nothing(client, staff):
    a = hashed_asset(BASE)
    client.force_login(staff)
    before = table_counts()
    for data in (
        {"low": a.pk, "high": a.pk, "verdict": "same_work"},
        {"low": a.pk, "high": 999999, "verdict": "same_work"},
        {"low": a.pk, "high": "x", "verdict": "same_work"},
        {"low": a.pk, "verdict": "maybe"},
    ):
        response = client.post(URL, data, follow=True)
        assert response.status_code == 200
        assert response.context["messages"]
    assert table_counts() == before


@pytest.mark.parametrize("pairs", [1, 15])
def test_the_page_costs_the_same_queries_whatever_its_size(
    client, staff, pairs, django_assert_num_queries
):
    for i in range(pairs):
        base = random.Random(i).getrandbits(64)
        hashed_asset(base)
        hashed_asset(flip(base, 7))
    client.force_login(staff)
    client.get(URL)  # warm the session and content types
    # session, user, the user's and the groups' permissions, the pairs, their assets
    with django_assert_num_queries(6):
        response = client.get(URL)
    assert response.content.decode().count('class="near-dup-pair"') == pairs


def test_who_may_see_the_page(client, alice, staff, django_user_model):
    hashed_asset(BASE)
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(alice)  # not staff
    assert client.get(URL).status_code in (302, 403)
    viewer = django_user_model.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    client.force_login(viewer)  # staff without change_asset
    assert client.get(URL).status_code == 403
    before = table_counts()
    assert client.post(URL, {"low": 1, "high": 2, "verdict": "same_work"}).status_code == 403
    assert table_counts() == before
    client.force_login(staff)
    assert client.get(URL).status_code == 200


def test_the_asset_list_and_the_dashboard_link_to_the_page(client, staff):
    client.force_login(staff)
    assert URL in client.get(reverse("admin:tracking_asset_changelist")).content.decode()
    assert URL in client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize("decisions", [1, 12])
def test_the_decisions_list_shows_who_and_when_in_fixed_queries(
    client, staff, decisions, django_assert_num_queries
):
    for i in range(decisions):
        low, high = hashed_asset(BASE + 2 * i), hashed_asset(flip(BASE + 2 * i, 9))
        services.decide_near_duplicate(
            user=staff, asset_id=low.pk, other_asset_id=high.pk, verdict="same_work"
        )
    url = reverse("admin:tracking_nearduplicatedecision_changelist")
    client.force_login(staff)
    client.get(url)
    # session, user, permissions (user, groups), count, the rows with both assets and
    # the decider joined, the date hierarchy's range and its days
    with django_assert_num_queries(8):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("Same work") >= decisions
    assert b"staff" in response.content
    add = reverse("admin:tracking_nearduplicatedecision_add")
    assert client.get(add).status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_staff_deciding_one_pair_at_once_leave_one_row(staff):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every writer")
    a, b = hashed_asset(BASE), hashed_asset(flip(BASE, 1))
    writers = 12
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def decide(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            low, high = (a.pk, b.pk) if n % 2 else (b.pk, a.pk)
            verdict = "same_work" if n % 3 else "not_duplicate"
            services.decide_near_duplicate(
                user=staff, asset_id=low, other_asset_id=high, verdict=verdict
            )
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    decision = NearDuplicateDecision.objects.get()
    assert (decision.low_id, decision.high_id) == (a.pk, b.pk)
