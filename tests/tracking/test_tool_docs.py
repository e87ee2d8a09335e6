"""docs/recording-tools.md's parameter table is the declarations' own."""

from tracking.tools.reference import END, START, doc_path, parameter_table, rewrite
from tracking.tools.registry import TOOLS


def test_the_documented_parameters_are_the_declared_ones():
    text = doc_path().read_text(encoding="utf-8")
    assert START in text and END in text
    assert rewrite(text) == text, "run: python manage.py tool_docs"


def test_the_table_lists_every_tool_and_parameter():
    table = parameter_table()
    for spec in TOOLS.values():
        assert f"### `{spec.name}`" in table
        for name in spec.parameters:
            assert f"| `{name}` |" in table
