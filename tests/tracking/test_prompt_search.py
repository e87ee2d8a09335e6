"""Prompt full-text search (tracking/prompt_search.py): the same answers on SQLite and PostgreSQL.

Every database test here runs on whichever database DATABASE_URL names; CI runs both.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import CharField, F, Value
from django.db.models.functions import Concat

from tests.tracking.recording_helpers import SEARCH_FILLER
from tracking import prompt_search
from tracking.errors import InvalidInput
from tracking.models import Prompt
from tracking.prompt_search import Alternative, parse


def ids(query) -> list[int]:
    return [p.pk for p in Prompt.objects.search(query)]


def make(*texts) -> list[Prompt]:
    return [Prompt.objects.create(prompt_text=t) for t in texts]


# --- the query language (no database) --------------------------------------------------


@pytest.mark.parametrize(
    "query, alternatives",
    [
        ("red fox", [Alternative(("red", "fox"))]),
        ('"red fox" forest', [Alternative(("red fox", "forest"))]),
        ("fox -red", [Alternative(("fox",), ("red",))]),
        ('fox -"red fox"', [Alternative(("fox",), ("red fox",))]),
        ("a b or c", [Alternative(("a", "b")), Alternative(("c",))]),
        ("a OR c", [Alternative(("a",)), Alternative(("c",))]),
        ('"or" cat', [Alternative(("or", "cat"))]),  # quoted, or is a word
        ('"unclosed fox', [Alternative(("unclosed fox",))]),  # the phrase runs to the end
        ("or fox or", [Alternative(("fox",))]),  # a dangling or is ignored
        ("fox - !!! ,", [Alternative(("fox",))]),  # no letters or digits: not a term
        ('a"b', [Alternative(("a", "b"))]),
    ],
)
def test_it_parses_the_web_search_syntax(query, alternatives):
    assert list(parse(query).alternatives) == alternatives


@pytest.mark.parametrize(
    "query, message",
    [
        ("", "query must contain a word to search for"),
        ("   ", "query must contain a word to search for"),
        ('""', "query must contain a word to search for"),
        ("!!! ,,, ()", "query must contain a word to search for"),
        ("-fox", "query must look for at least one word beside what it excludes"),
        ("cat or -fox", "query must look for at least one word beside what it excludes"),
        (" ".join(["w"] * 33), "query must have at most 32 words and phrases"),
    ],
)
def test_it_refuses_a_query_with_nothing_to_look_for(query, message):
    with pytest.raises(InvalidInput, match=message):
        parse(query)


def test_it_writes_fts5_queries_only_from_quoted_strings():
    fts = parse('cat* NEAR(x y) title:dog ^one "a ""b" -AND').as_fts5()
    assert fts == (
        '(("cat*" AND "NEAR(x" AND "y)" AND "title:dog" AND "^one" AND "a" AND "b") NOT ("AND"))'
    )
    # CJK runs become phrases of their characters.
    assert parse("草地 cat").as_fts5() == '("草 地" AND "cat")'
    assert parse("草地 -猫 or x").as_websearch() == '"草 地" -"猫" or "x"'


def test_it_makes_snippets_safe_html():
    raw = f"<script>x</script> & {prompt_search.MARK_START}fox{prompt_search.MARK_END}"
    assert (
        prompt_search.snippet_html(raw) == "&lt;script&gt;x&lt;/script&gt; &amp; <mark>fox</mark>"
    )
    cjk = f"{prompt_search.MARK_START}草\u200b{prompt_search.MARK_END}{prompt_search.MARK_START}地\u200b{prompt_search.MARK_END}"
    assert prompt_search.snippet_html(cjk) == "<mark>草地</mark>"


# --- searching, on the database at hand ------------------------------------------------

on_db = pytest.mark.django_db


@on_db
def test_a_prompt_matching_every_word_ranks_above_one_matching_one():
    make(*SEARCH_FILLER)
    one, both, other = make(
        "paper lantern floating on a pond at dusk",
        "red fox carrying a paper lantern through the snow",
        "red fox asleep in the snow",
    )
    found = Prompt.objects.search("fox or lantern")
    ranks = {p.pk: p.search_rank for p in found}
    assert next(iter(ranks)) == both.pk
    assert set(ranks) == {one.pk, both.pk, other.pk}
    assert ranks[both.pk] > ranks[one.pk] and ranks[both.pk] > ranks[other.pk]
    # Words are all required without "or".
    assert ids("fox lantern") == [both.pk]


@on_db
def test_it_finds_phrases_and_excludes_words():
    make(*SEARCH_FILLER)
    red_fox, fox_red, grey = make(
        "a red fox in the forest", "fox, red maple leaves", "a grey fox in the forest"
    )
    assert ids('"red fox"') == [red_fox.pk]  # together and in order
    assert set(ids("red fox")) == {red_fox.pk, fox_red.pk}
    assert set(ids("fox -red")) == {grey.pk}
    assert ids('fox -"red fox" -maple') == [grey.pk]
    assert set(ids("grey or maple")) == {grey.pk, fox_red.pk}
    assert set(ids("FOREST Fox")) == {red_fox.pk, grey.pk}  # any case


@on_db
def test_it_matches_whole_words_of_tag_lists_without_stemming():
    make(*SEARCH_FILLER)
    tags, lora = make(
        "masterpiece, ultra_detailed, 1girl, (red hair:1.2), running",
        "<lora:add_detail:0.5> a lighthouse, <b>storm</b>",
    )
    assert ids("1girl") == [tags.pk]
    # Punctuation separates words, so a tag matches written either way.
    assert ids("ultra_detailed") == ids('"ultra detailed"') == [tags.pk]
    assert ids("running") == [tags.pk]
    assert ids("run") == []  # no stemming: tags stay distinct
    assert ids("hair") == [tags.pk]
    assert ids("add_detail") == [lora.pk]  # not taken for an HTML tag
    assert ids("storm lighthouse") == [lora.pk]
    hyphen = make("ultra-detailed, 8k wallpaper")[0]
    assert set(ids("ultra-detailed")) == {tags.pk, hyphen.pk}  # hyphens separate too
    assert "ultra-detailed" in Prompt.objects.search("wallpaper")[0].search_snippet
    [hit] = Prompt.objects.search("add_detail")
    assert "&lt;lora:" in hit.search_snippet and "<mark>" in hit.search_snippet


@on_db
def test_it_searches_chinese_character_by_character():
    make(*SEARCH_FILLER)
    meadow, grassland = make("一只猫在草地上, cute cat", "草原上的地平线")
    assert ids("猫") == [meadow.pk]
    assert ids("草地") == [meadow.pk]  # the characters together and in order
    assert set(ids("草")) == {meadow.pk, grassland.pk}
    assert ids("草地 cat") == [meadow.pk]
    [hit] = Prompt.objects.search("草地")
    assert "<mark>草地</mark>" in hit.search_snippet
    assert "\u200b" not in hit.search_snippet


@on_db
def test_it_escapes_the_snippet_and_marks_the_matches():
    make(*SEARCH_FILLER)
    make('<script>alert("fox")</script> & a fox in "quotes"')
    [hit] = Prompt.objects.search("quotes")
    assert "<script>" not in hit.search_snippet
    assert "&lt;" in hit.search_snippet and "&amp;" in hit.search_snippet
    assert "<mark>quotes</mark>" in hit.search_snippet


@on_db
@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"""',
        "fox*",
        "*",
        "NEAR(fox, 2)",
        "prompt_text:fox",
        "^fox",
        "fox AND",
        "NOT fox",
        "(fox",
        "fox)",
        "'fox'",
        "fox & hound | !x",
        "fox:*",
        "\\",
        "-",
        "--fox",
        "zz' OR '1'='1",
        "\u200b",
        "\ue000fox\ue001",
    ],
)
def test_hostile_queries_answer_or_explain_never_fail(query):
    make(*SEARCH_FILLER)
    fox = make("a fox and a hound")[0]
    try:
        found = list(Prompt.objects.search(query))
    except InvalidInput as exc:
        assert exc.message.startswith("query must")
    else:
        assert {p.pk for p in found} <= {fox.pk}


@on_db
def test_updates_and_deletes_are_kept_in_step():
    make(*SEARCH_FILLER)
    car, boat = make("a red car", "a wooden boat")
    car.prompt_text = "a blue car"
    car.save()
    assert ids("red") == [] and ids("blue") == [car.pk]
    Prompt.objects.filter(pk=boat.pk).update(prompt_text=Concat(F("prompt_text"), Value(" sail")))
    assert ids("sail") == [boat.pk] and ids("wooden") == [boat.pk]
    boat.delete()
    assert ids("wooden") == []
    Prompt.objects.bulk_create([Prompt(prompt_text="bulk kite"), Prompt(prompt_text="bulk owl")])
    assert len(ids("bulk")) == 2
    Prompt.objects.filter(prompt_text__startswith="bulk").delete()
    assert ids("bulk") == []
    # Saving other fields leaves the index as it was.
    car.purpose = "image_generation"
    car.save()
    assert ids("blue") == [car.pk]


@on_db
def test_it_combines_with_other_filters_and_counts():
    make(*SEARCH_FILLER)
    _a, b = make("a lantern", "a lantern and a fox")
    b.purpose = "caption"
    b.save()
    assert list(Prompt.objects.filter(purpose="caption").search("lantern")) == [b]
    assert Prompt.objects.search("lantern").count() == 2
    assert Prompt.objects.search("zebra").count() == 0


# --- the engines' own structures ------------------------------------------------------


@on_db
def test_postgresql_answers_from_the_gin_index(is_postgres):
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    make(*SEARCH_FILLER)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT is_generated, data_type FROM information_schema.columns"
            " WHERE table_name = 'tracking_prompt' AND column_name = 'search_vector'"
        )
        assert cursor.fetchone() == ("ALWAYS", "tsvector")
        sql, params = Prompt.objects.search("lantern").query.sql_with_params()
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "tracking_prompt_search_gin" in plan, plan
    assert "websearch_to_tsquery" in sql and "ts_rank" in sql


@on_db
def test_sqlite_keeps_an_fts5_table_with_triggers(is_postgres):
    if is_postgres:
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        triggers = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'tracking_prompt_fts'")
        [table_sql] = cursor.fetchone()
    assert set(prompt_search.SQLITE_TRIGGERS) <= triggers
    assert "fts5" in table_sql.lower()


@pytest.mark.django_db(transaction=True)
def test_sqlite_index_survives_a_rebuild_of_the_prompt_table(is_postgres):
    """Django's SQLite schema editor rebuilds a table to alter a column, which drops its
    triggers; the post-migrate hook puts them back and catches up on what was missed."""
    if is_postgres:
        pytest.skip("SQLite only")
    before = make("a lantern before the rebuild")[0]
    # The model as migrations see it (no history model is registered for its copies).
    state = MigrationExecutor(connection).loader.project_state()
    model = state.apps.get_model("tracking", "Prompt")
    old = model._meta.get_field("purpose")
    new = CharField(max_length=101, null=True, blank=True)
    new.set_attributes_from_name("purpose")
    with connection.schema_editor() as editor:
        editor.alter_field(model, old, new)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                " AND name LIKE 'tracking_prompt_fts_%'"
            )
            assert cursor.fetchone()[0] == 0  # what the hook is for
        during = make("a lantern while the triggers were gone")[0]
        call_command("migrate", verbosity=0)  # runs the post-migrate hook
        assert set(ids("lantern")) == {before.pk, during.pk}
        after = make("a lantern after")[0]
        assert set(ids("lantern")) == {before.pk, during.pk, after.pk}
    finally:
        with connection.schema_editor() as editor:
            editor.alter_field(model, new, old)
        prompt_search.ensure_sqlite_index(connection)
