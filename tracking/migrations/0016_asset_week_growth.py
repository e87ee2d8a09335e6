"""Each asset's growth over the week ending at its latest snapshot, kept by triggers
(issue 17): the upper bound behind the dashboard's exact top growth
(``AssetStatsSnapshotQuerySet.top_growth``, ``AssetWeekGrowth``).

The triggers recompute an asset's row from its own snapshots whenever a statement
inserts, updates or deletes any of them, so the value is right after every write
whoever the writer is. PostgreSQL: one statement-level trigger per event with
transition tables (a COPY of 240,000 snapshots is one set-based recompute, not one
per row), the assets' rows locked first so concurrent writers of one asset take
turns. SQLite: row-level triggers (one writer at a time). The window is 168 hours on
PostgreSQL, not '7 days', which in a session with a daylight-saving time zone can be
167 hours: a window shorter than the read side's would give a bound too low. SQLite
rounds the window's start down to the second (its text times may lack the fraction),
which can only widen the window, so only raise the bound.
"""

import django.db.models.deletion
from django.db import migrations, models

SNAPSHOTS = "tracking_assetstatssnapshot"
GROWTH = "tracking_assetweekgrowth"


def recompute_sql(vendor: str, assets: str) -> str:
    """The INSERT that writes the rows of the assets ``assets`` selects, from their
    snapshots: latest time, its UTC day, MAX - MIN over the window ending there."""
    if vendor == "postgresql":
        day, start = "(l.latest_at AT TIME ZONE 'UTC')::date", "l.latest_at - interval '168 hours'"
    else:
        day, start = "date(l.latest_at)", "strftime('%Y-%m-%d %H:%M:%S', l.latest_at, '-7 days')"
    return f"""
        INSERT INTO {GROWTH} (asset_id, latest_at, latest_day, growth)
        SELECT l.asset_id, l.latest_at, {day}, MAX(s.reaction_total) - MIN(s.reaction_total)
        FROM (SELECT asset_id, MAX(captured_at) AS latest_at FROM {SNAPSHOTS}
              WHERE asset_id IN ({assets}) GROUP BY asset_id) AS l
        JOIN {SNAPSHOTS} s ON s.asset_id = l.asset_id AND s.captured_at >= {start}
        GROUP BY l.asset_id, l.latest_at"""


POSTGRESQL = [
    f"""
    CREATE FUNCTION tracking_week_growth_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        ids bigint[];
    BEGIN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(DISTINCT asset_id) INTO ids FROM new_snapshots;
        ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(DISTINCT asset_id) INTO ids FROM old_snapshots;
        ELSE
            SELECT array_agg(asset_id) INTO ids FROM (
                SELECT asset_id FROM old_snapshots UNION SELECT asset_id FROM new_snapshots
            ) AS changed;
        END IF;
        IF ids IS NULL THEN
            RETURN NULL;
        END IF;
        -- Writers of one asset's snapshots take turns (in id order, no deadlock between
        -- them); the statements below then see every committed snapshot of it.
        PERFORM 1 FROM tracking_asset WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE;
        DELETE FROM {GROWTH} WHERE asset_id = ANY(ids);
        {recompute_sql("postgresql", "SELECT unnest(ids)")};
        RETURN NULL;
    END
    $$
    """,
    f"""CREATE TRIGGER tracking_week_growth_insert AFTER INSERT ON {SNAPSHOTS}
    REFERENCING NEW TABLE AS new_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION tracking_week_growth_refresh()""",
    f"""CREATE TRIGGER tracking_week_growth_update AFTER UPDATE ON {SNAPSHOTS}
    REFERENCING OLD TABLE AS old_snapshots NEW TABLE AS new_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION tracking_week_growth_refresh()""",
    f"""CREATE TRIGGER tracking_week_growth_delete AFTER DELETE ON {SNAPSHOTS}
    REFERENCING OLD TABLE AS old_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION tracking_week_growth_refresh()""",
]


def sqlite_refresh(row: str) -> str:
    return (
        f"DELETE FROM {GROWTH} WHERE asset_id = {row}.asset_id; "
        f"{recompute_sql('sqlite', f'{row}.asset_id')};"
    )


SQLITE = [
    f"CREATE TRIGGER tracking_week_growth_insert AFTER INSERT ON {SNAPSHOTS} "
    f"BEGIN {sqlite_refresh('NEW')} END",
    f"CREATE TRIGGER tracking_week_growth_update AFTER UPDATE ON {SNAPSHOTS} "
    f"BEGIN {sqlite_refresh('OLD')} {sqlite_refresh('NEW')} END",
    f"CREATE TRIGGER tracking_week_growth_delete AFTER DELETE ON {SNAPSHOTS} "
    f"BEGIN {sqlite_refresh('OLD')} END",
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(vendor)
    if statements is None:
        raise RuntimeError(f"tracking 0016: no week-growth triggers written for {vendor}")
    for statement in statements:
        schema_editor.execute(statement, params=None)
    # the rows of every asset that already has snapshots
    schema_editor.execute(
        recompute_sql(vendor, f"SELECT DISTINCT asset_id FROM {SNAPSHOTS}"), params=None
    )


def drop_triggers(apps, schema_editor):
    for event in ("insert", "update", "delete"):
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS tracking_week_growth_{event}"
            + (f" ON {SNAPSHOTS}" if schema_editor.connection.vendor == "postgresql" else ""),
            params=None,
        )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS tracking_week_growth_refresh()", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('tracking', '0015_snapshot_reaction_total'),
    ]

    operations = [
        migrations.CreateModel(
            name='AssetWeekGrowth',
            fields=[
                ('asset', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='week_growth', serialize=False, to='tracking.asset', verbose_name='asset')),
                ('latest_at', models.DateTimeField(verbose_name='latest snapshot at')),
                ('latest_day', models.DateField(verbose_name='latest snapshot day')),
                ('growth', models.BigIntegerField(verbose_name='growth over the week before the latest snapshot')),
            ],
            options={
                'verbose_name': 'asset week growth',
                'verbose_name_plural': 'asset week growths',
                'indexes': [models.Index(fields=['latest_day', '-growth', 'asset'], name='week_growth_day_idx')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
