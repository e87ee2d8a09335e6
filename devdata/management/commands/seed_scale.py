"""Fill an empty database with a large synthetic data set, for benchmarks and load checks."""

import time

from django.core.management.base import BaseCommand, CommandError

from devdata.scale import ScaleRefused, seed_scale


class Command(BaseCommand):
    help = (
        "Bulk-create a large, realistic synthetic data set (prompts, posts, assets, lineage, "
        "engagement snapshots, optionally mirrored Orchestration workflows) in one transaction "
        "(COPY on PostgreSQL). Refuses a non-empty database unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--posts", type=int, default=20000, help="Posts to create (20000).")
        parser.add_argument("--assets", type=int, default=100000, help="Assets to create (100000).")
        parser.add_argument("--prompts", type=int, default=50000, help="Prompts to create (50000).")
        parser.add_argument(
            "--workflows",
            type=int,
            default=0,
            help="Mirrored Orchestration workflows, each with a step, job, blob and scan (0).",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=5000,
            help="Rows per INSERT where COPY is not available (5000).",
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="Random seed (0): same seed, same data."
        )
        parser.add_argument(
            "--force", action="store_true", help="Add to a database that already has records."
        )

    def handle(self, *args, posts, assets, prompts, workflows, batch, seed, force, **options):
        started = time.perf_counter()
        try:
            counts = seed_scale(
                posts=posts,
                assets=assets,
                prompts=prompts,
                workflows=workflows,
                batch=batch,
                seed=seed,
                force=force,
                show_progress=options["verbosity"] > 0,
                log=self.stdout.write if options["verbosity"] > 1 else None,
            )
        except ScaleRefused as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Created {summary} in {elapsed:.1f} s."))
