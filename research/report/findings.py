"""The key-findings box at the top of a report: the headline in words, its interval, the
robustness verdict with its reasons and what the data can and cannot say.

One box for every result that carries a :class:`~research.estimate.result.Headline`; all
data-derived text is escaped, since it is placed in notebook Markdown (rendered as HTML).
"""

from __future__ import annotations

from research.markup import escape_markdown

VERDICT_WORDS = {
    "supported": "**Supported.** The estimate survives the report's own checks.",
    "fragile": "**Fragile.** At least one of the report's own checks contradicts the "
               "estimate: quote it only with the reasons below.",
    "not identified": "**Not identified with these data.** The number below, if any, is "
                      "descriptive and must not be quoted as the effect of the measure.",
}


def _number(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def key_findings(headline, *, limits: list[str] | tuple[str, ...] = (),
                 title: str = "Key findings") -> str:
    """Markdown of the key-findings box for a headline.

    Parameters
    ----------
    headline : a :class:`~research.estimate.result.Headline`.
    limits : what the data cannot say, in words (e.g. mixed-scope lines).
    title : the box's heading.

    Returns
    -------
    str
        A Markdown block quote; every data-derived string is escaped.

    Examples
    --------
    >>> from research.estimate.result import Headline
    >>> h = Headline(term="impact", label="impact, % change", estimate=-73.1,
    ...              conf_low=-82.4, conf_high=-59.0, verdict="supported",
    ...              verdict_reasons=("every valid check holds",))
    >>> "**-73.1%** [-82.4, -59.0]" in key_findings(h)
    True
    """
    lines = [f"## {escape_markdown(title)}", ""]
    if headline.verdict:
        lines += [f"> {VERDICT_WORDS.get(headline.verdict, escape_markdown(headline.verdict))}",
                  ">"]
    if headline.estimate is not None:
        interval = ""
        if headline.conf_low is not None and headline.conf_high is not None:
            interval = f" [{_number(headline.conf_low)}, {_number(headline.conf_high)}]"
        unit = "%" if headline.scale == "percent" else f" {escape_markdown(headline.scale)}"
        lines.append(f"> {escape_markdown(headline.label)}: "
                     f"**{_number(headline.estimate)}{unit}**{interval}"
                     + (f" (95% interval: {escape_markdown(headline.interval_method)})"
                        if headline.interval_method else ""))
    else:
        lines.append(f"> {escape_markdown(headline.label)}")
    for effect in headline.profile:
        if effect.get("term") == headline.term:  # already the number above
            continue
        lines.append(f"> - {escape_markdown(effect['label'])} "
                     f"({escape_markdown(effect.get('outcome', ''))}): "
                     f"{_number(effect['pct'])}% [{_number(effect['pct_low'])}, "
                     f"{_number(effect['pct_high'])}]")
    if headline.profile:
        recovery = headline.months_to_recovery
        lines.append("> - months to recovery (three months in a row within 10% of the "
                     "pre-period, no interval): "
                     + (f"{recovery}" if recovery else "not within the window"))
    if headline.estimand:
        lines += [">", f"> *Compares:* {escape_markdown(headline.estimand)}"]
    if headline.verdict_reasons:
        lines += [">", "> *Why this verdict:*"]
        lines += [f"> - {escape_markdown(r)}" for r in headline.verdict_reasons]
    if limits:
        lines += [">", "> *What these data cannot say:*"]
        lines += [f"> - {escape_markdown(r)}" for r in limits]
    return "\n".join(lines)
