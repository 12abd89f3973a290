"""The site's navigation links, the current page's marked with aria-current."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context: template.Context, url_name: str, label: str) -> str:
    """A nav link, marked current on its page and on the pages below it (a session under History)."""
    href = url_name if url_name.startswith("/") else reverse(url_name)
    request = context.get("request")
    path = request.path if request is not None else ""
    if path == href or (href != "/" and path.startswith(href)):
        return format_html('<a href="{}" aria-current="page">{}</a>', href, label)
    return format_html('<a href="{}">{}</a>', href, label)
