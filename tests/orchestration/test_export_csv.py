"""CSV export of review decisions for a date range."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from orchestration.models import ReviewDecision
from tests.orchestration.conftest import make_scanned_job

pytestmark = pytest.mark.django_db


def export(client, **params):
    response = client.get(reverse("orchestration:review_export"), params)
    return response, list(csv.DictReader(io.StringIO(response.content.decode())))


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 9, day, hour, tzinfo=dt.UTC)


def test_it_exports_every_decision_in_the_range_with_supersession(client, reviewer, reviewer2):
    job = make_scanned_job(1)
    other = make_scanned_job(2)
    first = job.decide(reviewer, "escalated", "unsure")
    second = job.decide(reviewer2, "confirmed_violation", '=HYPERLINK("x")')
    outside = other.decide(reviewer, "cleared")
    ReviewDecision.objects.filter(pk=first.pk).update(decided_at=at(10))
    ReviewDecision.objects.filter(pk=second.pk).update(decided_at=at(11, 23))
    ReviewDecision.objects.filter(pk=outside.pk).update(decided_at=at(12, 0))
    client.force_login(reviewer)

    response, rows = export(client, **{"from": "2026-09-10", "to": "2026-09-11"})

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert [r["decision_id"] for r in rows] == [str(first.pk), str(second.pk)]
    assert rows[0] == {
        "decision_id": str(first.pk),
        "decided_at": "2026-09-10T12:00:00+00:00",
        "job_id": job.civitai_id,
        "workflow_id": "",
        "decision": "escalated",
        "note": "unsure",
        "decided_by": "rita",
        "supersedes_decision_id": "",
        "current": "no",
    }
    assert rows[1]["supersedes_decision_id"] == str(first.pk)
    assert rows[1]["current"] == "yes" and rows[1]["decided_by"] == "ravi"
    assert rows[1]["note"] == '\'=HYPERLINK("x")'  # no formula for spreadsheets


def test_it_exports_everything_without_a_range(client, reviewer):
    make_scanned_job(1).decide(reviewer, "cleared")
    client.force_login(reviewer)

    _, rows = export(client)

    assert len(rows) == 1


@pytest.mark.parametrize(
    "params,message",
    [
        ({"from": "last week"}, "from must be a date"),
        ({"to": "2026-13-01"}, "to must be a date"),
        ({"from": "2026-09-12", "to": "2026-09-01"}, "from must not be after to"),
    ],
)
def test_it_refuses_bad_ranges_clearly(client, reviewer, params, message):
    client.force_login(reviewer)

    response = client.get(reverse("orchestration:review_export"), params)

    assert response.status_code == 400
    assert message in response.content.decode()
