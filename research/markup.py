"""Data text placed into Markdown or HTML: escaped, and web addresses checked.

Report pages show text that comes from data: user events' measures, basket names,
estimator notes, source addresses. Any of it may come from someone else's file, so it
is never trusted as markup. :func:`escape_markdown` makes text display literally in a
Markdown cell (no tags, links, emphasis or lists), :func:`escape_html` does the same
for HTML, and :func:`safe_url` accepts only plain ``http``/``https`` addresses.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterable

from research.errors import ParameterError

URL_SCHEMES = ("http", "https")
# characters that end or break out of an address in Markdown or an HTML attribute
_URL_FORBIDDEN = re.compile(r"[\s\"'<>`\\{}|^\x00-\x1f\x7f]")
# HTML's special characters become entities (so no renderer can read a tag), Markdown's
# punctuation gets a backslash (so no emphasis, link, list, table or math starts)
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")


def escape_html(text: object) -> str:
    """``text`` as HTML text: ``& < > " '`` become entities (``None`` gives ``""``)."""
    return "" if text is None else html.escape(str(text), quote=True)


def escape_markdown(text: object) -> str:
    """``text`` shown literally in Markdown: no HTML, links, emphasis, lists or math.

    HTML's special characters become entities and Markdown's punctuation is escaped
    with a backslash; line breaks become spaces (a new line could start a block).
    ``None`` gives ``""``.

    Examples
    --------
    >>> escape_markdown("<script>alert(1)</script>")
    '&lt;script&gt;alert\\\\(1\\\\)&lt;/script&gt;'
    >>> escape_markdown("rare_earths")
    'rare\\\\_earths'
    """
    if text is None:
        return ""
    flat = " ".join(str(text).split())
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", flat)
    return "".join(_HTML_SPECIAL.get(c, c) for c in escaped)


def url_problem(url: object) -> str | None:
    """Why ``url`` is not a plain web address, or None when it is one.

    A plain address parses with :func:`urllib.parse.urlsplit`, has the scheme
    ``http`` or ``https`` and a host, and holds no whitespace, quotes, angle
    brackets, backticks, backslashes or control characters.
    """
    if not isinstance(url, str) or not url:
        return "not text"
    found = _URL_FORBIDDEN.search(url)
    if found:
        return f"holds the character {found.group(0)!r}"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as error:
        return f"does not parse ({error})"
    if parts.scheme.lower() not in URL_SCHEMES:
        return f"scheme {parts.scheme!r} is not http or https"
    if not parts.hostname:
        return "has no host"
    return None


def safe_url(url: object, *, where: str = "address", field: str = "url") -> str:
    """``url`` when it is a plain ``http``/``https`` address (see :func:`url_problem`).

    Raises
    ------
    ParameterError
        Naming ``where``, ``field``, the value and what is wrong with it.
    """
    problem = url_problem(url)
    if problem is not None:
        raise ParameterError(f"{where}: field {field!r} = {url!r} is not a web address "
                             f"(http or https): it {problem}")
    return str(url)


def markdown_link(url: object) -> str:
    """A Markdown autolink ``<url>`` for a plain web address, else the escaped text."""
    if url_problem(url) is None:
        return f"<{url}>"
    return escape_markdown(url)


def markdown_list(items: Iterable[object]) -> str:
    """A Markdown bullet list, one escaped line per item.

    Parameters
    ----------
    items : the lines, as text or anything ``str`` turns into text.

    Examples
    --------
    >>> print(markdown_list(["graphite licensing", "*not* emphasis"]))
    - graphite licensing
    - \\*not\\* emphasis
    """
    return "\n".join(f"- {escape_markdown(item)}" for item in items)
