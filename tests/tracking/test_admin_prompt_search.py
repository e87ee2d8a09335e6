"""The admin's prompt search: full text on the same index as search_prompts, best matches first."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.tracking.recording_helpers import SEARCH_FILLER
from tracking.models import Asset, Prompt

pytestmark = pytest.mark.django_db

URL = "admin:tracking_prompt_changelist"


def listed(client, q, **params):
    response = client.get(reverse(URL), {"q": q, **params})
    assert response.status_code == 200
    return response, [p.pk for p in response.context["cl"].result_list]


@pytest.fixture
def prompts():
    for text in SEARCH_FILLER:
        Prompt.objects.create(prompt_text=text)
    lantern = Prompt.objects.create(prompt_text="paper lantern floating on a pond at dusk")
    both = Prompt.objects.create(prompt_text="red fox carrying a paper lantern in the snow")
    fox = Prompt.objects.create(prompt_text="red fox asleep in the snow", llm_model="dall-e-3")
    old = Prompt.objects.create(prompt_text="an imported caption", legacy_id=4242)
    return {"lantern": lantern, "both": both, "fox": fox, "old": old}


def test_staff_see_the_best_match_first(client, staff, prompts):
    client.force_login(staff)
    _response, found = listed(client, "lantern or fox")
    assert found[0] == prompts["both"].pk
    assert set(found) == {prompts[k].pk for k in ("lantern", "both", "fox")}


def test_a_clicked_column_orders_instead_of_the_rank(client, staff, prompts):
    client.force_login(staff)
    # by id: column 0 is the action checkbox
    _response, found = listed(client, "lantern or fox", o="1")
    assert found == sorted(found)


def test_it_finds_the_model_name_and_the_civitai_records_id_too(client, staff, prompts):
    client.force_login(staff)
    assert listed(client, "DALL-E")[1] == [prompts["fox"].pk]
    assert listed(client, "4242")[1] == [prompts["old"].pk]
    assert set(listed(client, '"paper lantern"')[1]) == {prompts["lantern"].pk, prompts["both"].pk}
    assert listed(client, '"lantern paper"')[1] == []


def test_a_query_with_nothing_to_look_for_is_explained_not_a_500(client, staff, prompts):
    client.force_login(staff)
    for q in ["-fox", '"', "!!!", "*"]:
        response, found = listed(client, q)
        assert found == []
        text = response.content.decode()
        assert "The text was not searched: query must" in text, q


def test_the_page_shows_the_search_help(client, staff, prompts):
    client.force_login(staff)
    response, _found = listed(client, "fox")
    assert "-word to exclude" in response.content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client, prompts):
    response = client.get(reverse(URL), {"q": "fox"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_search_costs_the_same_queries_for_3_and_40_matches(client, superuser):
    client.force_login(superuser)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse(URL), {"q": "lantern"})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def add(n):
        for i in range(n):
            p = Prompt.objects.create(prompt_text=f"lantern {i}", created_by=superuser)
            Asset.objects.create(
                asset_url=f"s3://b/{p.pk}.png",
                asset_type="image",
                asset_source="generated",
                input_prompt=p,
            )

    add(3)
    small = queries()
    add(37)
    assert queries() == small
