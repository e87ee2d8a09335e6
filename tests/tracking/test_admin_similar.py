"""The asset admin shows near-duplicates: a row on the form, a warning when saved."""

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.tracking import media_samples as media
from tests.tracking.test_admin_pages import _asset_form
from tracking import services
from tracking.models import Asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(tmp_path, superuser):
    picture = media.picture(51)
    (tmp_path / "a.png").write_bytes(media.encode(picture))
    (tmp_path / "b.jpg").write_bytes(media.encode(picture, "JPEG", quality=50))
    (tmp_path / "c.png").write_bytes(media.png(52))
    with override_settings(HASH_ALLOWED_ROOTS=[str(tmp_path)]):
        made = [
            services.create_asset(
                user=superuser,
                asset_url=str(tmp_path / n),
                asset_type="image",
                asset_source="upload",
            )["asset_id"]
            for n in ("a.png", "b.jpg", "c.png")
        ]
    return [Asset.objects.get(pk=pk) for pk in made]


def test_the_change_form_lists_near_duplicates_with_links(client, superuser, pair):
    a, b, c = pair
    client.force_login(superuser)
    page = client.get(reverse("admin:tracking_asset_change", args=[a.pk])).content.decode()
    assert "Near-duplicates" in page
    assert f'href="{reverse("admin:tracking_asset_change", args=[b.pk])}">#{b.pk}</a>' in page
    assert "args=[c.pk]" not in page and f"/{c.pk}/change/" not in page
    assert "pHash" in page


def test_saving_a_near_duplicate_warns_and_still_saves(client, superuser, pair):
    a, b, _c = pair
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_asset_change", args=[b.pk]),
        _asset_form(b, civitai_id="", metadata='{"note": "re-saved"}'),
        follow=True,
    )
    assert response.status_code == 200
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1 and "looks like assets already recorded" in warnings[0]
    assert f"#{a.pk}" in warnings[0]
    b.refresh_from_db()
    assert b.metadata == {"note": "re-saved"}


def test_an_asset_without_hashes_says_so_and_saves_without_warning(client, superuser):
    asset = Asset.objects.create(
        asset_url="https://example.com/x.png", asset_type="image", asset_source="upload"
    )
    client.force_login(superuser)
    page = client.get(reverse("admin:tracking_asset_change", args=[asset.pk])).content.decode()
    assert "none yet" in page
    response = client.post(
        reverse("admin:tracking_asset_change", args=[asset.pk]), _asset_form(asset), follow=True
    )
    assert not [m for m in response.context["messages"] if m.level_tag == "warning"]
