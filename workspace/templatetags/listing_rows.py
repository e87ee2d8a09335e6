"""``{% scaled_result_list cl %}``: Django's ``{% result_list cl %}`` with the rows written
by ``civitrack.result_rows`` (the same HTML, without per-cell lookups and templates).

It renders the same ``change_list_results.html`` (per model, per app or Django's), so
only the rows' cells change hands. ``templates/admin/scaled_change_list.html`` uses it.
"""

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode

from civitrack.result_rows import result_list

register = template.Library()


@register.tag(name="scaled_result_list")
def scaled_result_list_tag(parser, token):
    return InclusionAdminNode(
        "scaled_result_list",
        parser,
        token,
        func=result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
