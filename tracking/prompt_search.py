"""Full-text search of prompts: one query language, two engines (docs/prompt-search.md).

PostgreSQL answers from the generated ``tsvector`` column ``search_vector`` and its GIN
index (migration ``0009_prompt_search``), with ``websearch_to_tsquery``, ``ts_rank``
and ``ts_headline``. SQLite, the embedded default, answers from the FTS5 table
``tracking_prompt_fts``, kept in step by triggers, with ``bm25()`` and ``snippet()``.

Both read the web-search syntax PostgreSQL's ``websearch_to_tsquery`` reads: words are
all required, ``"a phrase"`` keeps words together and in order, ``-word`` or
``-"a phrase"`` excludes, and ``or`` separates alternatives (``or`` binds loosest, as
in PostgreSQL: ``a b or c`` is ``(a and b) or c``). The query is parsed here, once, and
written out for each engine, so both answer the same question and neither ever sees
syntax it could choke on: an FTS5 query is made only of quoted strings and operators
we put there, so quotes, ``*``, ``^``, ``:`` or ``NEAR`` in a query are plain text.

Tokens: the ``simple`` configuration (lower-cased, no stemming, no stop words) on
PostgreSQL and ``unicode61`` without diacritic folding on SQLite. Prompts are mostly
comma-separated tags and names (``masterpiece, 1girl, (red hair:1.2)``), where
English stemming would merge tags that mean different things and stop-word removal
would drop words people search for. Chinese and Japanese have no spaces between words,
so both engines would index a whole run of ideographs as one word; instead every CJK
character is followed by a zero-width space before indexing (``search_text``), making
each character a token, and a query's CJK run becomes a phrase of its characters. The
zero-width spaces are removed from snippets again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connections
from django.db.models import BooleanField, Expression, F, FloatField, TextField, Value
from django.db.models.functions import Coalesce
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tracking.errors import InvalidInput

VECTOR_COLUMN = "search_vector"
CONFIG = "simple"
MAX_TERMS = 32
ZWSP = "\u200b"
# Hiragana, katakana, CJK extension A, unified ideographs, compatibility ideographs.
CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK = re.compile(f"([{CJK_CLASS}])")
# Snippet markers: private-use characters no prompt is expected to hold. The snippet is
# HTML-escaped first and the markers then become <mark> tags (``snippet_html``).
MARK_START, MARK_END = "\ue000", "\ue001"
ANGLE_OPEN, ANGLE_CLOSE, HYPHEN = "\ue002", "\ue003", "\ue004"
SNIPPET_TOKENS = 32


def search_text(text: str | None) -> str | None:
    """The text as it is indexed: a zero-width space after every CJK character.

    The SQLite triggers call it (registered as ``civitrack_search_text``); the
    PostgreSQL column computes the same with ``regexp_replace``.
    """
    if text is None:
        return None
    return CJK.sub(rf"\1{ZWSP}", text)


def pg_document(column: str) -> str:
    """The SQL of the text PostgreSQL indexes (migration 0009 holds a frozen copy).

    As ``search_text``, and ``<``, ``>`` and ``-`` become private-use characters
    (separators to the parser; ``snippet_html`` turns them back). PostgreSQL's parser
    takes ``<lora:add_detail:0.5>`` for an HTML tag and would index nothing of it (and
    ``ts_headline`` would drop it), and it indexes ``ultra-detailed`` as one more word
    beside its parts, so the same query would find different prompts than on SQLite,
    whose tokenizer reads all three as separators already.
    """
    return (
        f"regexp_replace(translate({column}, '<>-', '{ANGLE_OPEN}{ANGLE_CLOSE}{HYPHEN}'),"
        f" '([{CJK_CLASS}])', '\\1{ZWSP}', 'g')"
    )


def _spaced(text: str) -> str:
    """A term's text with its CJK characters apart, so each is a token of the phrase,
    and hyphens as separators (as the indexed text has them: ``pg_document``)."""
    return " ".join(CJK.sub(r" \1 ", text.replace("-", " ")).split())


@dataclass(frozen=True)
class Alternative:
    """One side of an ``or``: every ``words`` term required, every ``excluded`` one absent."""

    words: tuple[str, ...]
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    alternatives: tuple[Alternative, ...]

    def as_websearch(self, *, excluded: bool = True) -> str:
        """The query for ``websearch_to_tsquery``, every term quoted (``excluded=False``:
        without the exclusions)."""
        return " or ".join(
            " ".join(
                [f'"{_spaced(w)}"' for w in alt.words]
                + ([f'-"{_spaced(w)}"' for w in alt.excluded] if excluded else [])
            )
            for alt in self.alternatives
        )

    def as_fts5(self) -> str:
        """The query for FTS5's MATCH: quoted strings (each a phrase) and AND/OR/NOT."""

        def string(term: str) -> str:
            return '"' + _spaced(term).replace('"', '""') + '"'

        parts = []
        for alt in self.alternatives:
            expr = " AND ".join(string(w) for w in alt.words)
            if alt.excluded:
                expr = f"({expr}) NOT ({' OR '.join(string(w) for w in alt.excluded)})"
            parts.append(f"({expr})")
        return " OR ".join(parts)


def _searchable(term: str) -> bool:
    """Whether the term holds a token at all (a letter or digit); ``!!!`` does not."""
    return any(c.isalnum() for c in term)


def parse(query: str) -> ParsedQuery:
    """The query in web-search syntax, or ``InvalidInput`` saying what is missing.

    Never fails on syntax: an unclosed quote runs to the end, a lone ``-`` or ``or``
    is ignored, punctuation is text. It refuses only queries that could match nothing
    or everything: no word to look for, or an alternative made only of exclusions
    (PostgreSQL would answer it with every prompt lacking the word; FTS5 cannot).
    """
    if not isinstance(query, str):
        raise InvalidInput("query must be a string")
    tokens: list[tuple[str, str]] = []  # ("word" | "not" | "or", text)
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        negated = query[i] == "-"
        if negated:
            i += 1
            if i >= n or query[i].isspace():
                continue
        if query[i] == '"':
            end = query.find('"', i + 1)
            end = n if end < 0 else end
            text, quoted, i = query[i + 1 : end], True, end + 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] != '"':
                i += 1
            text, quoted = query[start:i], False
        if not negated and not quoted and text.lower() == "or":
            tokens.append(("or", text))
        elif _searchable(text):
            tokens.append(("not" if negated else "word", text))

    alternatives: list[Alternative] = []
    words: list[str] = []
    excluded: list[str] = []
    for kind, text in [*tokens, ("or", "")]:
        if kind == "or":
            if words:
                alternatives.append(Alternative(tuple(words), tuple(excluded)))
            elif excluded:
                raise InvalidInput(
                    "query must look for at least one word beside what it excludes"
                    ' (-word): e.g. "cat -dog"'
                )
            words, excluded = [], []
        else:
            (words if kind == "word" else excluded).append(text)
    if not alternatives:
        raise InvalidInput("query must contain a word to search for (letters or digits)")
    if sum(len(a.words) + len(a.excluded) for a in alternatives) > MAX_TERMS:
        raise InvalidInput(f"query must have at most {MAX_TERMS} words and phrases")
    return ParsedQuery(query, tuple(alternatives))


def snippet_html(raw: str | None) -> SafeString:
    """A snippet from either engine as safe HTML: escaped, with matches in ``<mark>``."""
    # PostgreSQL marks the characters of a CJK word one by one: join adjacent marks.
    text = (raw or "").replace(ZWSP, "").replace(MARK_END + MARK_START, "")
    text = text.replace(ANGLE_OPEN, "<").replace(ANGLE_CLOSE, ">").replace(HYPHEN, "-")
    html = escape(text).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return mark_safe(html)  # noqa: S308 - escaped above; the only tags are ours


# --- the engines -------------------------------------------------------------------


class OnPromptTable(Expression):
    """SQL about the query's prompt row: ``{table}`` in ``sql`` becomes its (quoted) alias.

    The engines' parts that Django has no field for: the generated ``search_vector``
    column (not a model field: Django's ``GeneratedField`` needs an expression both
    backends can compute, and django-simple-history would copy it into the history
    table) and the FTS5 subqueries correlated on the prompt's id.
    """

    def __init__(self, sql: str, params=(), *, output_field):
        super().__init__(output_field=output_field)
        self.sql, self.params = sql, tuple(params)

    def as_sql(self, compiler, connection):
        table = compiler.quote_name(compiler.query.base_table)
        return self.sql.format(table=table), self.params


def _postgres(parsed: ParsedQuery):
    from django.contrib.postgres.search import (
        SearchHeadline,
        SearchQuery,
        SearchRank,
        SearchVectorExact,
        SearchVectorField,
    )

    def query(websearch: str | None = None):
        websearch = parsed.as_websearch() if websearch is None else websearch
        return SearchQuery(websearch, search_type="websearch", config=CONFIG)

    def vector():
        return OnPromptTable(f"{{table}}.{VECTOR_COLUMN}", output_field=SearchVectorField())

    # The headline is computed on the text as indexed, so its tokens are the same.
    document = OnPromptTable(pg_document("{table}.prompt_text"), output_field=TextField())
    return (
        SearchVectorExact(vector(), query()),
        # ts_rank gives 0 to every row of a query with an exclusion: rank by the words.
        SearchRank(vector(), query(parsed.as_websearch(excluded=False))),
        SearchHeadline(
            document,
            query(),
            config=CONFIG,
            start_sel=MARK_START,
            stop_sel=MARK_END,
            max_words=SNIPPET_TOKENS,
            min_words=SNIPPET_TOKENS // 2,
        ),
    )


def _sqlite(parsed: ParsedQuery):
    match = parsed.as_fts5()
    return (
        OnPromptTable(
            "({table}.id IN (SELECT rowid FROM tracking_prompt_fts"
            " WHERE tracking_prompt_fts MATCH %s))",
            [match],
            output_field=BooleanField(),
        ),
        # bm25() is lower for better matches; negated so both engines rank higher-is-better.
        OnPromptTable(
            "(SELECT -bm25(tracking_prompt_fts) FROM tracking_prompt_fts"
            " WHERE tracking_prompt_fts MATCH %s AND tracking_prompt_fts.rowid = {table}.id)",
            [match],
            output_field=FloatField(),
        ),
        OnPromptTable(
            "(SELECT snippet(tracking_prompt_fts, 0, %s, %s, '…', %s) FROM tracking_prompt_fts"
            " WHERE tracking_prompt_fts MATCH %s AND tracking_prompt_fts.rowid = {table}.id)",
            [MARK_START, MARK_END, SNIPPET_TOKENS, match],
            output_field=TextField(),
        ),
    )


def expressions(parsed: ParsedQuery, using: str):
    """``(condition, rank, snippet)`` for prompts matching ``parsed`` on database ``using``.

    The rank is higher for better matches on both engines, and ``None`` for a row the
    condition did not select; the snippet is the engine's raw text (``snippet_html``
    makes it HTML).
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        return _postgres(parsed)
    if connection.vendor == "sqlite":
        return _sqlite(parsed)
    raise InvalidInput(f"Prompt search is not available on {connection.vendor}")


def rank_or_zero(rank) -> Coalesce:
    """The rank, 0 for rows found by other conditions (the admin's model search)."""
    return Coalesce(rank, Value(0.0), output_field=FloatField())


RANKED_ORDER = [F("search_rank").desc(nulls_last=True), "-created_at", "-id"]


# --- keeping the SQLite index ---------------------------------------------------------
#
# SQLite drops a table's triggers with the table, and Django's SQLite schema editor
# rebuilds a table (create a copy, copy the rows, drop, rename) for most changes to its
# columns: a later migration touching ``tracking_prompt`` would silently stop the index
# following the prompts. ``ensure_sqlite_index`` runs in migration 0009 and again after
# every ``migrate`` (and test database creation, which migrates); it recreates whatever is
# missing and, when a trigger was missing, rebuilds the index from the table.

SQLITE_FUNCTION = "civitrack_search_text"
SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS tracking_prompt_fts"
    " USING fts5(prompt_text, tokenize = 'unicode61 remove_diacritics 0')"
)
SQLITE_TRIGGERS = {
    "tracking_prompt_fts_insert": (
        "CREATE TRIGGER tracking_prompt_fts_insert AFTER INSERT ON tracking_prompt BEGIN"
        " INSERT INTO tracking_prompt_fts(rowid, prompt_text)"
        " VALUES (new.id, civitrack_search_text(new.prompt_text)); END"
    ),
    "tracking_prompt_fts_update": (
        "CREATE TRIGGER tracking_prompt_fts_update"
        " AFTER UPDATE OF id, prompt_text ON tracking_prompt BEGIN"
        " DELETE FROM tracking_prompt_fts WHERE rowid = old.id;"
        " INSERT INTO tracking_prompt_fts(rowid, prompt_text)"
        " VALUES (new.id, civitrack_search_text(new.prompt_text)); END"
    ),
    "tracking_prompt_fts_delete": (
        "CREATE TRIGGER tracking_prompt_fts_delete AFTER DELETE ON tracking_prompt BEGIN"
        " DELETE FROM tracking_prompt_fts WHERE rowid = old.id; END"
    ),
}
SQLITE_REBUILD = (
    "DELETE FROM tracking_prompt_fts",
    "INSERT INTO tracking_prompt_fts(rowid, prompt_text)"
    " SELECT id, civitrack_search_text(prompt_text) FROM tracking_prompt",
)


def register_sqlite_function(sender=None, connection=None, **kwargs) -> None:
    """``connection_created`` receiver: give each SQLite connection the triggers' function.

    A connection that lacks it (the ``sqlite3`` shell) cannot write prompts: the
    triggers refuse with "no such function", rather than leave the index behind.
    """
    if connection is not None and connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 1, search_text, deterministic=True)


def ensure_sqlite_index(connection) -> bool:
    """Create the FTS5 table and its triggers where missing; True when it rebuilt the index."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        if "tracking_prompt" not in tables:
            return False
        cursor.execute(SQLITE_TABLE)
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
        missing = [name for name in SQLITE_TRIGGERS if name not in present]
        for name in missing:
            cursor.execute(SQLITE_TRIGGERS[name])
        if missing:
            for statement in SQLITE_REBUILD:
                cursor.execute(statement)
    return bool(missing)


def drop_sqlite_index(connection) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute("DROP TRIGGER IF EXISTS " + connection.ops.quote_name(name))
        cursor.execute("DROP TABLE IF EXISTS tracking_prompt_fts")


def ensure_after_migrate(sender, using="default", **kwargs) -> None:
    """``post_migrate`` receiver (the tracking app's): see ``ensure_sqlite_index``."""
    ensure_sqlite_index(connections[using])
