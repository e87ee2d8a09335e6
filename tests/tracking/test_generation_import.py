"""import_civitai_post stores Civitai's meta as the asset's generation record."""

import pytest

from tests.fakes.civitai_site import IMAGE_ID, POST_ID, VIDEO_ID
from tracking.civitai_import import import_civitai_post
from tracking.models import Asset

pytestmark = pytest.mark.django_db


def test_it_stores_civitai_meta_in_the_generation_shape(fake_site, alice):
    result = import_civitai_post(post=str(POST_ID), user=alice)
    image = Asset.objects.get(civitai_id=IMAGE_ID)
    gen = image.metadata["generation"]
    assert gen["source"] == "civitai" and gen["read_from"] == "civitai:meta"
    assert (gen["prompt"], gen["negative_prompt"]) == ("a paper lantern on a pond", "blurry")
    assert (gen["seed"], gen["steps"], gen["cfg_scale"], gen["sampler"]) == (4242, 20, 3.5, "Euler")
    assert gen["extra"]["civitaiResources"] == [{"type": "checkpoint", "modelVersionId": 222}]
    assert "generation" not in Asset.objects.get(civitai_id=VIDEO_ID).metadata  # no meta
    shaped = {a["civitai_id"]: a for a in result["assets"]}
    assert shaped[str(IMAGE_ID)]["input_prompt_created"] is True
    assert shaped[str(IMAGE_ID)]["input_prompt_id"] == str(image.input_prompt_id)
    assert shaped[str(VIDEO_ID)]["input_prompt_created"] is False


def test_a_reimport_refreshes_it_and_creates_no_second_prompt(fake_site, alice):
    import_civitai_post(post=str(POST_ID), user=alice)
    fake_site.images[IMAGE_ID]["meta"]["seed"] = 7
    result = import_civitai_post(post=str(POST_ID), user=alice)
    assert Asset.objects.get(civitai_id=IMAGE_ID).metadata["generation"]["seed"] == 7
    assert {a["input_prompt_created"] for a in result["assets"]} == {False}


def test_what_the_file_said_is_kept_over_civitai_meta(fake_site, alice):
    from_file = {"source": "a1111", "read_from": "png:parameters", "seed": 1}
    Asset.objects.create(
        asset_url="s3://bucket/lantern.png",
        asset_type="image",
        asset_source="generated",
        civitai_id=IMAGE_ID,
        created_by=alice,
        metadata={"generation": from_file},
    )
    import_civitai_post(post=str(POST_ID), user=alice)
    assert Asset.objects.get(civitai_id=IMAGE_ID).metadata["generation"] == from_file


def test_a_dry_run_says_what_it_would_store(fake_site, alice):
    result = import_civitai_post(post=str(POST_ID), dry_run=True, user=alice)
    shaped = {a["civitai_id"]: a for a in result["assets"]}
    assert shaped[str(IMAGE_ID)]["metadata"]["generation"]["seed"] == 4242
    assert shaped[str(IMAGE_ID)]["input_prompt_created"] is True
    assert not Asset.objects.exists()
