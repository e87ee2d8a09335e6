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


NAME = "export"
# Without arguments (``make bench``): these sizes, read from the seeded shared database
# (it holds 100k assets, so nothing is added to it).
SIZES = [int(n) for n in os.environ.get("BENCH_EXPORT_SIZES", "10000,100000").split(",")]
HEADER = "| rows asked | rows written | CSV size | peak RSS |\n|---|---|---|---|"


def bench() -> None:
    """``make bench``: each size in a fresh child on the shared database, as a result."""
    sys.path.insert(0, str(ROOT / "bench"))
    import common

    common.setup(NAME)
    seed(max(SIZES))
    rows, peaks = [], []
    for n in SIZES:
        out = subprocess.run(
            [sys.executable, __file__, "--export", str(n)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        line = next(x for x in out.splitlines() if x.startswith("| "))
        rows.append(line)
        peaks.append(float(line.rsplit("|", 2)[1].split()[0]))
    common.write_result(
        NAME,
        {
            "title": "Streamed CSV export: peak memory against rows",
            "how": (
                "`/admin/tracking/asset/export.csv` limited to the first N assets by an id "
                "filter, downloaded through Django's test client in a fresh child process per "
                "size and consumed chunk by chunk; peak RSS of that child (ru_maxrss)."
            ),
            "table": "\n".join([HEADER, *rows]),
            "figures": [
                {
                    "what": f"peak RSS at {SIZES[-1]:,} rows / at {SIZES[0]:,} rows",
                    "value": f"{peaks[-1] / peaks[0]:.2f}",
                    "unit": "x",
                }
            ],
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--export"]:
        export(int(sys.argv[2]))
        sys.exit(0)
    if not sys.argv[1:]:
        bench()
        sys.exit(0)
    sizes = [int(a) for a in sys.argv[1:]]
    seed(max(sizes))
    print(HEADER)
    for n in sizes:
        subprocess.run([sys.executable, __file__, "--export", str(n)], check=True)
