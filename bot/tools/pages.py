"""The HTML pages the tools write (the review book, the usage report): one Jinja environment
over `templates/`, escaping every value and refusing a name the template does not get."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment(package: str = "bot.tools") -> Environment:
    return Environment(loader=PackageLoader(package, "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_page(template: str, context: Mapping[str, Any], package: str = "bot.tools") -> str:
    """`template` from `package`'s templates/ folder, filled with `context`."""
    return environment(package).get_template(template).render(context)
