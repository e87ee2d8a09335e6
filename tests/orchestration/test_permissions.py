"""Who may open what: every orchestration URL for anonymous, non-staff, staff, reviewer, superuser.

Anonymous visitors are sent to the login page; signed-in users without the right
(non-staff anywhere, staff without ``orchestration.review_job`` on review actions) get 403.
"""

import pytest
from django.urls import reverse

from devdata import orchestration_demo as demo
from orchestration.models import Blob

pytestmark = pytest.mark.django_db

LOGIN = "login"
LANTERN = "4C1D9E0B7A2F4E61B3D8A5C0F9E2B714.png"
DUSK = "77AE00112233445566778899AABBCCF0.png"

# name, method, url args, post data, expected for (anonymous, alice, staff, reviewer, superuser)
MATRIX = [
    ("workflow_list", "get", [], None, (LOGIN, 403, 200, 200, 200)),
    ("workflow_detail", "get", [demo.WF_CLEAN], None, (LOGIN, 403, 200, 200, 200)),
    ("job_detail", "get", [demo.JOB_MATURE], None, (LOGIN, 403, 200, 200, 200)),
    ("blob_media", "get", [LANTERN], None, (LOGIN, 403, 302, 302, 302)),
    ("workflow_refresh", "post", [demo.WF_CLEAN], {}, (LOGIN, 403, 302, 302, 302)),
    ("job_refresh", "post", [demo.JOB_CLEAN], {}, (LOGIN, 403, 302, 302, 302)),
    ("lookup", "post", [], {"q": demo.WF_CLEAN}, (LOGIN, 403, 302, 302, 302)),
    ("review_queue", "get", [], None, (LOGIN, 403, 403, 200, 200)),
    ("review_export", "get", [], None, (LOGIN, 403, 403, 200, 200)),
    ("job_claim", "post", [demo.JOB_MATURE], {}, (LOGIN, 403, 403, 302, 302)),
    ("job_release", "post", [demo.JOB_MATURE], {}, (LOGIN, 403, 403, 302, 302)),
    (
        "job_decide",
        "post",
        [demo.JOB_CLEAN],
        {"decision": "cleared", "note": ""},
        (LOGIN, 403, 403, 302, 302),
    ),
    ("blob_reveal", "post", [DUSK], {}, (LOGIN, 403, 403, 302, 302)),
]
PERSONAS = ["anonymous", "alice", "staff", "reviewer", "superuser"]


@pytest.mark.parametrize("persona_index", range(len(PERSONAS)), ids=PERSONAS)
@pytest.mark.parametrize("name,method,args,data,expected", MATRIX, ids=[m[0] for m in MATRIX])
def test_it_enforces_the_permission_matrix(
    request, client, demo, settings, persona_index, name, method, args, data, expected
):
    settings.CIVITAI_API_TOKEN = None  # refresh/lookup must not reach any network
    persona = PERSONAS[persona_index]
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    url = reverse(f"orchestration:{name}", args=args)

    response = getattr(client, method)(url, data or {})

    want = expected[persona_index]
    if want == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    else:
        assert response.status_code == want, response.content[:300]


def test_it_links_the_pages_from_the_admin_index_by_permission(client, staff, reviewer):
    client.force_login(staff)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("orchestration:workflow_list") in page
    assert reverse("orchestration:review_queue") not in page

    client.force_login(reviewer)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("orchestration:review_queue") in page


def test_it_refuses_gets_on_actions(client, reviewer, demo):
    client.force_login(reviewer)
    url = reverse("orchestration:blob_reveal", args=[DUSK])
    assert client.get(url).status_code == 405
    assert Blob.objects.get(civitai_id=DUSK).reveals.count() == 0


def test_the_migration_creates_the_reviewers_group_with_the_permission():
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="reviewers")
    assert [p.codename for p in group.permissions.all()] == ["review_job"]
