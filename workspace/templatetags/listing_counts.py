"""``{% result_count cl %}``: the admin search box's "N results", honest about a capped count.

Past ``civitrack.listing.COUNT_CAP`` the changelist did not count every row, so it says
"more than 10000 results". Under the cap it says what Django's admin says, in Django's
own words: the msgids are held in a constant rather than written in a template, so they
are translated by Django's catalog and not copied into ours.
"""

from django import template
from django.utils.translation import gettext, ngettext

register = template.Library()

# Django's admin/search_form.html msgids (django/contrib/admin/locale).
DJANGO_RESULTS = ("%(counter)s result", "%(counter)s results")


@register.simple_tag
def result_count(cl) -> str:
    paginator = getattr(cl, "paginator", None)
    if getattr(paginator, "capped", False):
        return gettext("more than %(cap)s results") % {"cap": paginator.cap}
    singular, plural = DJANGO_RESULTS
    return ngettext(singular, plural, cl.result_count) % {"counter": cl.result_count}
