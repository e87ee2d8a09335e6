"""The admin is the main screen: every page renders, search and filters work, lists are O(1) queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tracking.models import Asset, AssetStatsSnapshot, Post, Prompt

pytestmark = pytest.mark.django_db

# The lineage inline's management form, empty: what the asset form sends with no input assets.
NO_INPUT_LINKS = {"input_links-TOTAL_FORMS": "0", "input_links-INITIAL_FORMS": "0"}


def _asset_form(asset, **changes):
    """The change form of ``asset`` as the browser would post it."""
    return {
        "asset_url": asset.asset_url,
        "asset_type": asset.asset_type,
        "asset_source": asset.asset_source,
        "civitai_id": asset.civitai_id or "",
        "civitai_url": asset.civitai_url or "",
        "metadata": "{}",
        "on_behalf_of": asset.on_behalf_of or "",
        **NO_INPUT_LINKS,
        **changes,
    }


def seed(n: int, user=None) -> None:
    """n posts, each with two assets linked to prompts, plus lineage."""
    for i in range(n):
        prompt = Prompt.objects.create(prompt_text=f"prompt number {i} lantern", created_by=user)
        caption = Prompt.objects.create(prompt_text=f"caption {i}", purpose="caption")
        post = Post.objects.create(
            civitai_id=1000 + i,
            civitai_url=f"https://civitai.com/posts/{1000 + i}",
            title=f"post {i}",
            created_by=user,
        )
        first = Asset.objects.create(
            asset_url=f"https://cdn.example.com/{i}.png",
            asset_type="image",
            asset_source="generated",
            post=post,
            input_prompt=prompt,
            output_prompt=caption,
            sha256sum=f"{i:064x}",
            civitai_id=5000 + i,
            civitai_url=f"https://civitai.com/images/{5000 + i}",
            created_by=user,
        )
        second = Asset.objects.create(
            asset_url=f"https://cdn.example.com/{i}.mp4",
            asset_type="video",
            asset_source="upload",
            post=post,
            created_by=user,
        )
        second.input_assets.add(first)


def changelist_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


CHANGELISTS = [
    "admin:tracking_asset_changelist",
    "admin:tracking_post_changelist",
    "admin:tracking_prompt_changelist",
    "admin:tracking_assetstatssnapshot_changelist",
]


@pytest.mark.parametrize("name", CHANGELISTS)
def test_it_lists_with_the_same_number_of_queries_for_1_and_40_rows(client, superuser, name):
    client.force_login(superuser)
    seed(1, superuser)
    for asset in Asset.objects.all():
        AssetStatsSnapshot.objects.create(asset=asset, like_count=1)
    small = changelist_queries(client, reverse(name))
    seed_more = 20
    for i in range(1, seed_more):
        Post.objects.create(
            civitai_id=90000 + i, civitai_url=f"https://civitai.com/posts/{90000 + i}"
        )
    seed(0)
    # 40 more assets/prompts/snapshots on the page
    for i in range(20):
        post = Post.objects.get(civitai_id=1000)
        a = Asset.objects.create(
            asset_url=f"https://x.example/{i}.png",
            asset_type="image",
            asset_source="upload",
            post=post,
            created_by=superuser,
        )
        AssetStatsSnapshot.objects.create(asset=a, like_count=i)
        Prompt.objects.create(prompt_text=f"more {i}", created_by=superuser)
    large = changelist_queries(client, reverse(name))
    assert small == large


def test_it_renders_every_change_and_add_form(client, superuser):
    client.force_login(superuser)
    seed(2, superuser)
    for model in (Asset, Post, Prompt):
        opts = model._meta
        for obj in model.objects.all():
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert client.get(url).status_code == 200, url
            history = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
            assert client.get(history).status_code == 200, history
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert client.get(add).status_code == 200


def test_it_previews_images_and_videos_lazily_with_links(client, superuser):
    client.force_login(superuser)
    seed(1, superuser)
    image = Asset.objects.get(asset_type="image")
    video = Asset.objects.get(asset_type="video")
    page = client.get(reverse("admin:tracking_asset_change", args=[image.pk])).content.decode()
    assert '<img src="https://cdn.example.com/0.png" loading="lazy"' in page
    assert reverse("admin:tracking_post_change", args=[image.post_id]) in page
    assert reverse("admin:tracking_prompt_change", args=[image.input_prompt_id]) in page
    assert reverse("admin:tracking_prompt_change", args=[image.output_prompt_id]) in page
    page = client.get(reverse("admin:tracking_asset_change", args=[video.pk])).content.decode()
    assert '<video src="https://cdn.example.com/0.mp4"' in page and 'preload="none"' in page
    assert reverse("admin:tracking_asset_change", args=[image.pk]) in page  # made from


def test_it_does_not_render_non_http_media(client, superuser):
    client.force_login(superuser)
    asset = Asset.objects.create(
        asset_url="javascript:alert(1)", asset_type="image", asset_source="upload"
    )
    page = client.get(reverse("admin:tracking_asset_change", args=[asset.pk])).content.decode()
    assert 'src="javascript' not in page
    assert "no preview" in page


def test_it_shows_the_posts_assets_inline(client, superuser):
    client.force_login(superuser)
    seed(1, superuser)
    post = Post.objects.get()
    page = client.get(reverse("admin:tracking_post_change", args=[post.pk])).content.decode()
    assert "Assets in this post" in page
    for asset in post.assets.all():
        assert reverse("admin:tracking_asset_change", args=[asset.pk]) in page


@pytest.mark.parametrize(
    "name, query, expected",
    [
        ("admin:tracking_asset_changelist", f"q={1:064x}", 1),
        ("admin:tracking_asset_changelist", "q=5001", 1),
        ("admin:tracking_asset_changelist", "q=cdn.example.com/2.mp4", 1),
        ("admin:tracking_asset_changelist", "q=lantern", 3),
        ("admin:tracking_asset_changelist", "q=1002", 2),
        ("admin:tracking_asset_changelist", "asset_type__exact=video", 3),
        ("admin:tracking_asset_changelist", "asset_source__exact=generated", 3),
        ("admin:tracking_asset_changelist", "has_sha256=no", 3),
        ("admin:tracking_asset_changelist", "on_civitai=yes", 3),
        ("admin:tracking_post_changelist", "q=1001", 1),
        ("admin:tracking_post_changelist", "q=civitai.com/posts/1002", 1),
        ("admin:tracking_post_changelist", "status__exact=pending", 0),
        ("admin:tracking_post_changelist", "civitai_account=c29", 3),
        ("admin:tracking_prompt_changelist", "q=lantern", 3),
        ("admin:tracking_prompt_changelist", "purpose=caption", 3),
    ],
)
def test_it_searches_and_filters(client, superuser, name, query, expected):
    client.force_login(superuser)
    seed(3, superuser)
    response = client.get(f"{reverse(name)}?{query}")
    assert response.status_code == 200
    assert response.context["cl"].result_count == expected


def test_it_searches_ids_with_text_without_error(client, superuser):
    client.force_login(superuser)
    seed(1, superuser)
    response = client.get(reverse("admin:tracking_asset_changelist") + "?q=not-a-number")
    assert response.status_code == 200


def test_it_refuses_a_malformed_sha256_on_the_form_and_accepts_upper_case(client, superuser):
    client.force_login(superuser)
    url = reverse("admin:tracking_asset_add")
    data = NO_INPUT_LINKS | {
        "asset_url": "https://example.com/x.png",
        "asset_type": "image",
        "asset_source": "upload",
        "sha256sum": "xyz",
        "metadata": "{}",
        "civitai_id": "",
        "civitai_url": "",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "sha256sum must be 64 lower-case hexadecimal characters" in response.content.decode()
    assert not Asset.objects.exists()
    data["sha256sum"] = "ABCDEF" + "0" * 58
    response = client.post(url, data)
    assert response.status_code == 302
    asset = Asset.objects.get()
    assert asset.sha256sum == "abcdef" + "0" * 58
    assert asset.created_by == superuser
    response = client.post(url, data | {"asset_url": "https://example.com/y.png"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Asset.objects.count() == 1


def test_it_refuses_a_bad_status_on_the_post_form(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_post_add"),
        {
            "civitai_id": "12",
            "civitai_url": "https://civitai.com/posts/12",
            "status": "deleted",
            "civitai_account": "c29",
            "metadata": "{}",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Post.objects.exists()


def test_it_keeps_the_admin_behind_login(client, staff):
    response = client.get(reverse("admin:tracking_asset_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://civitai.com/posts/99", "civitai_url points to post 99 but civitai_id is 12"),
        ("https://example.com/posts/12", "civitai_url must be a Civitai post URL"),
    ],
)
def test_it_refuses_a_post_url_that_names_another_post(client, superuser, url, message):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_post_add"),
        {
            "civitai_id": "12",
            "civitai_url": url,
            "status": "published",
            "civitai_account": "c29",
            "metadata": "{}",
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Post.objects.exists()


def test_it_refuses_an_asset_civitai_url_without_its_id(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_asset_add"),
        NO_INPUT_LINKS
        | {
            "asset_url": "https://example.com/x.png",
            "asset_type": "image",
            "asset_source": "upload",
            "sha256sum": "",
            "metadata": "{}",
            "civitai_id": "",
            "civitai_url": "https://civitai.com/images/5",
        },
    )
    assert response.status_code == 200
    assert "civitai_url points to image 5 but civitai_id is not set" in response.content.decode()
    assert not Asset.objects.exists()


def test_it_refuses_to_save_an_asset_as_its_own_input(client, superuser):
    """The lineage rule lives on AssetInput (a constraint); the admin form reaches it too."""
    client.force_login(superuser)
    asset = Asset.objects.create(
        asset_url="https://example.com/a.png", asset_type="image", asset_source="upload"
    )
    other = Asset.objects.create(
        asset_url="https://example.com/b.png", asset_type="image", asset_source="upload"
    )
    url = reverse("admin:tracking_asset_change", args=[asset.pk])
    one_input = {"input_links-TOTAL_FORMS": "1", "input_links-0-from_asset": str(asset.pk)}
    response = client.post(
        url, _asset_form(asset, **one_input, **{"input_links-0-to_asset": str(asset.pk)})
    )
    assert response.status_code == 200
    assert "input_asset_ids must not include the asset itself" in response.content.decode()
    assert not asset.input_assets.exists()
    response = client.post(
        url, _asset_form(asset, **one_input, **{"input_links-0-to_asset": str(other.pk)})
    )
    assert response.status_code == 302
    assert list(asset.input_assets.all()) == [other]


def test_it_attributes_a_new_asset_to_the_signed_in_user_and_shows_on_behalf_of(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_asset_add"),
        NO_INPUT_LINKS
        | {
            "asset_url": "https://example.com/x.png",
            "asset_type": "image",
            "asset_source": "upload",
            "metadata": "{}",
            "on_behalf_of": "",
        },
    )
    assert response.status_code == 302
    asset = Asset.objects.get()
    assert (asset.created_by, asset.on_behalf_of) == (superuser, superuser.username)
    page = client.get(reverse("admin:tracking_asset_change", args=[asset.pk])).content.decode()
    assert 'name="on_behalf_of"' in page
