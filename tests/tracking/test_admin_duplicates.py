"""Duplicates on the admin forms (issue 14 item 5a): the error names and links the record."""

import re

import pytest
from django.urls import reverse

from tracking.models import Asset, Post

pytestmark = pytest.mark.django_db
NO_INPUT_LINKS = {"input_links-TOTAL_FORMS": "0", "input_links-INITIAL_FORMS": "0"}
SHA = "ab" * 32


def asset_form(**values) -> dict:
    return NO_INPUT_LINKS | {
        "asset_url": "https://cdn.example.com/new.png",
        "asset_type": "image",
        "asset_source": "upload",
        "sha256sum": "",
        "metadata": "{}",
        "civitai_id": "",
        "civitai_url": "",
        **values,
    }


def error_links(html: str) -> list[str]:
    """The hrefs of the duplicate links inside the form's error lists."""
    return re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>.*?href="([^"]+)" class="duplicate-of"', html, re.S
    )


@pytest.fixture
def existing(db):
    post = Post.objects.create(
        civitai_id=23602354, civitai_url="https://civitai.com/posts/23602354"
    )
    asset = Asset.objects.create(
        asset_url="https://cdn.example.com/old.png",
        asset_type="image",
        asset_source="upload",
        sha256sum=SHA,
        civitai_id=101,
        civitai_url="https://civitai.com/images/101",
        post=post,
    )
    return asset


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"sha256sum": SHA.upper()}, "sha256"),
        ({"civitai_id": "101", "civitai_url": "https://civitai.com/images/101"}, "civitai id"),
        ({"asset_url": "https://cdn.example.com/old.png"}, "asset url"),
    ],
)
def test_a_new_asset_with_a_taken_value_names_and_links_the_existing_one(
    client, superuser, existing, values, field
):
    client.force_login(superuser)
    response = client.post(reverse("admin:tracking_asset_add"), asset_form(**values))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Asset with this {field.capitalize()} already exists:" in html
    assert error_links(html) == [reverse("admin:tracking_asset_change", args=[existing.pk])]
    assert Asset.objects.count() == 1


def test_the_same_url_with_a_new_sha256_is_a_new_asset(client, superuser, existing):
    """create_asset's rule: the URL only identifies a file that has no sha256."""
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_asset_add"),
        asset_form(asset_url=existing.asset_url, sha256sum="cd" * 32),
    )
    assert response.status_code == 302
    assert Asset.objects.count() == 2


def test_changing_an_asset_to_another_ones_civitai_id_links_that_one(client, superuser, existing):
    other = Asset.objects.create(
        asset_url="https://cdn.example.com/other.png", asset_type="image", asset_source="upload"
    )
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_asset_change", args=[other.pk]),
        asset_form(
            asset_url=other.asset_url,
            civitai_id="101",
            civitai_url="https://civitai.com/images/101",
        ),
    )
    assert error_links(response.content.decode()) == [
        reverse("admin:tracking_asset_change", args=[existing.pk])
    ]
    other.refresh_from_db()
    assert other.civitai_id is None
    # saving the asset with its own values is no duplicate of itself
    response = client.post(
        reverse("admin:tracking_asset_change", args=[existing.pk]),
        asset_form(
            asset_url=existing.asset_url,
            civitai_id="101",
            civitai_url="https://civitai.com/images/101",
            post=str(existing.post_id),
        ),
    )
    assert response.status_code == 302


def test_a_new_post_with_a_taken_civitai_id_links_the_existing_post(client, superuser, existing):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_post_add"),
        {
            "civitai_id": "23602354",
            # another spelling of the same post's page
            "civitai_url": "https://civitai.green/posts/23602354",
            "status": "published",
            "civitai_account": "c29",
            "metadata": "{}",
            "assets-TOTAL_FORMS": "0",
            "assets-INITIAL_FORMS": "0",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Post with this Civitai id already exists:" in html
    assert error_links(html) == [reverse("admin:tracking_post_change", args=[existing.post_id])]
    assert Post.objects.count() == 1


def test_the_link_text_is_escaped(client, superuser, existing):
    existing.post.title = "<b>bold</b>"
    existing.post.save()
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_post_add"),
        {
            "civitai_id": "23602354",
            "civitai_url": "https://civitai.com/posts/23602354",
            "status": "published",
            "civitai_account": "c29",
            "metadata": "{}",
        },
    )
    html = response.content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
