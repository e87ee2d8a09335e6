"""Peak RSS of a streamed admin export (issue 14 item 4): flat whatever the row count.

Standalone: ``DATABASE_URL=... DEBUG=true .venv/bin/python bench/bench_export.py 20000 200000``
seeds that many assets (once, into the database named by DATABASE_URL), then, in a
fresh child process per size, downloads ``/admin/tracking/asset/export.csv`` (limited
to the first N rows by an id filter) through Django's test client, consumes the stream
and prints the child's peak resident set size.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitrack.settings")


def setup():
    import django

    django.setup()


def seed(total: int) -> None:
    setup()
    from django.core.management import call_command

    from tracking.models import Asset

    call_command("migrate", verbosity=0)
    have = Asset.objects.count()
    batch = []
    for i in range(have, total):
        batch.append(
            Asset(
                asset_url=f"https://cdn.example.com/bench/{i}.png",
                asset_type="image",
                asset_source="upload",
                metadata={"i": i, "note": "=not a formula"},
            )
        )
        if len(batch) == 5000:
            Asset.objects.bulk_create(batch)
            batch = []
    Asset.objects.bulk_create(batch)


def export(rows: int) -> None:
    setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from tracking.models import Asset

    user = get_user_model().objects.filter(is_superuser=True).first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench", "", "bench-pw-123456")
    last = Asset.objects.order_by("pk").values_list("pk", flat=True)[rows - 1]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    response = client.get("/admin/tracking/asset/export.csv", {"id__lte": last})
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += 1
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {rows:,} | {lines - 1:,} | {size / 2**20:.1f} MiB | {peak_mib:.0f} MiB |")


if __name__ == "__main__":
    if sys.argv[1] == "--export":
        export(int(sys.argv[2]))
        sys.exit(0)
    sizes = [int(a) for a in sys.argv[1:]]
    seed(max(sizes))
    print("| rows asked | rows written | CSV size | peak RSS |\n|---|---|---|---|")
    for n in sizes:
        subprocess.run([sys.executable, __file__, "--export", str(n)], check=True)
