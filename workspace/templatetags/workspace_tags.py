"""``{% dashboard %}``: the tiles of workspace/dashboard.py on the admin index."""

from django import template

from workspace.dashboard import dashboard_tiles

register = template.Library()


@register.inclusion_tag("workspace/dashboard.html", takes_context=True)
def dashboard(context):
    request = context["request"]
    return {"tiles": dashboard_tiles(request.user)}
