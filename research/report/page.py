"""An executed notebook made ready to publish, before the runner exports it to HTML.

:func:`finish_page` edits the run's executed notebook in place:

- **Diagnostics.** Text a cell wrote to stderr (warnings, library messages) is taken
  out of the cell, so the page shows no pink boxes, and collected at the end as plain
  sentences: a Python warning ``/path/module.py:218: FewClustersWarning: only 8
  clusters`` (and the source line Python prints under it) becomes "only 8 clusters
  (FewClustersWarning).", each sentence once with its count. Absolute paths in any
  stream or traceback are cut to their last part (:func:`scrub_paths`).
- **References.** The methods the notebook uses (:mod:`research.report.references`)
  and the data sources the run read (the manifest's ``inputs``), with their licences.
- **Footer.** Run date, toolkit version, git commit (or "installed package") and the
  vintage of each dataset read.

All data text is escaped (:func:`research.markup.escape_markdown`). The appended cells
have fixed ids (``report-diagnostics``, ``report-references``, ``report-footer``), so
the same run gives the same notebook, and finishing a notebook twice replaces them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from research.markup import escape_markdown
from research.report.references import data_sources, method_references

PAGE_CELLS = ("report-diagnostics", "report-references", "report-footer")
# Added to the exported page (research.report.runner): tables wrap instead of scrolling,
# no output box scrolls (a printed scroll bar hides rows), long words break, and the
# A4 print shrinks table text.
PAGE_CSS = """
.jp-OutputArea-output, .jp-RenderedHTMLCommon, .jp-RenderedMarkdown,
.jp-OutputArea-output pre { overflow: visible !important; }
.jp-RenderedMarkdown p, .jp-RenderedMarkdown li, .jp-RenderedMarkdown code,
.jp-RenderedMarkdown blockquote, .jp-RenderedMarkdown a { overflow-wrap: anywhere; }
.jp-RenderedHTMLCommon table { table-layout: auto; max-width: 100%; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th {
  white-space: normal; overflow-wrap: anywhere; max-width: none; }
table.research-table td, table.research-table th { padding: .3em .5em; }
table.research-table th { text-align: left; }
.jp-RenderedImage img, .jp-OutputArea-output img { max-width: 100%; height: auto; }
@media print {
  .jp-RenderedHTMLCommon table { font-size: 8.5pt; page-break-inside: auto; }
  .jp-RenderedHTMLCommon tr { page-break-inside: avoid; }
  .jp-RenderedHTMLCommon thead { display: table-header-group; }
  .jp-OutputArea-output img { page-break-inside: avoid; }
}
"""
# an absolute path (POSIX, home-relative, Windows drive, file:// address): everything up
# to its last part, which is kept (a file name says which module; its folder says whose
# machine)
_PATH = re.compile(r"(?<![\w.~/\\])(?:file://)?(?:[A-Za-z]:[\\/]|~?/)"
                   r"(?:[^\s'\"`<>:|\\/()\[\],;]+[\\/])+(?P<name>[^\s'\"`<>:|\\/()\[\],;]*)")
# "path.py:218: SomeWarning: message" (Python's format) or "SomeWarning: message"
# (the one-line format of research.report.tables.configure_kernel)
_WARNING = re.compile(r"^(?:(?P<path>\S.*?):(?P<line>\d+): )?"
                      r"(?P<category>[A-Z]\w*Warning|Warning): (?P<message>.*)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ANSI_SPLIT = re.compile(r"(\x1b\[[0-9;]*[A-Za-z])")


def scrub_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part.

    Examples
    --------
    >>> scrub_paths("/home/ana/research/estimate/ban_study.py:218: FewClustersWarning")
    'ban_study.py:218: FewClustersWarning'
    >>> scrub_paths("values in USD/kg stay")
    'values in USD/kg stay'
    >>> scrub_paths("\\x1b[32m/home/ana/x.py\\x1b[39m")  # in a coloured traceback
    '\\x1b[32mx.py\\x1b[39m'
    """
    parts = _ANSI_SPLIT.split(text)  # colour codes kept, the text between them scrubbed
    return "".join(part if index % 2 else _PATH.sub(lambda m: m.group("name") or "…", part)
                   for index, part in enumerate(parts))


def _sentence(text: str) -> str:
    text = " ".join(scrub_paths(text).split())
    return text if not text or text[-1] in ".!?)" else text + "."


def diagnostics_from_stderr(text: str) -> list[str]:
    """Plain sentences from what a cell wrote to stderr, in order (repeats kept).

    A warning gives "message (Category)."; the source line Python prints under a
    warning is dropped; any other line is kept as a sentence. Paths are scrubbed and
    terminal colour codes removed.

    Examples
    --------
    >>> diagnostics_from_stderr("/x/y/m.py:3: UserWarning: few clusters\\n  warn('x')\\n")
    ['few clusters (UserWarning).']
    """
    sentences: list[str] = []
    current: dict | None = None

    def close() -> None:
        if current is not None:
            message = _sentence(" ".join(current["message"]))
            sentences.append(f"{message[:-1] if message.endswith('.') else message} "
                             f"({current['category']}).")

    for line in _ANSI.sub("", text).splitlines():
        found = _WARNING.match(line)
        if found:
            close()
            # Python's format may continue the message up to the source line; the
            # one-line format (no path) has no source line: the message ends here
            current = {"category": found.group("category"),
                       "message": [found.group("message")],
                       "source": found.group("path") is None}
        elif not line.strip():
            continue
        elif current is not None and line[:1].isspace():
            current["source"] = True  # the source line under a warning
        elif current is not None and not current["source"]:
            current["message"].append(line)  # a message of several lines
        else:
            close()
            current = None
            sentences.append(_sentence(line))
    close()
    return [s for s in sentences if s.strip(".")]


def take_stderr(notebook) -> list[str]:
    """Remove the stderr outputs of every code cell of ``notebook`` (in place) and
    return their sentences (:func:`diagnostics_from_stderr`); paths in the remaining
    stream text and tracebacks are scrubbed (:func:`scrub_paths`)."""
    sentences: list[str] = []
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = "".join(output.get("text", ""))
                if output.get("name") == "stderr":
                    sentences += diagnostics_from_stderr(text)
                    continue
                output["text"] = scrub_paths(text)
            elif output.get("output_type") == "error":
                output["traceback"] = [scrub_paths(line) for line in output.get("traceback", [])]
                output["evalue"] = scrub_paths(str(output.get("evalue", "")))
            kept.append(output)
        cell["outputs"] = kept
    return sentences


def diagnostics_markdown(sentences: list[str]) -> str:
    """The Diagnostics section: each sentence once, with how often it came."""
    lines = ["## Diagnostics", ""]
    counts = Counter(sentences)
    if not counts:
        return "\n".join([*lines, "The run wrote no warnings or messages."])
    lines += ["Warnings and messages the run wrote, once each, without file paths:", ""]
    for sentence, count in counts.items():  # Counter keeps first-seen order
        times = f" ({count} times)" if count > 1 else ""
        lines.append(f"- {escape_markdown(sentence)}{times}")
    return "\n".join(lines)


def references_markdown(notebook: str, inputs: dict | list) -> str:
    """The References section: the notebook's methods, then the run's data sources."""
    methods = method_references(notebook) or method_references(Path(notebook).name)
    sources = data_sources(inputs)
    lines = ["## References", ""]
    if methods:
        lines += ["**Methods**", ""]
        lines += [f"- {escape_markdown(r.citation)} ({escape_markdown(r.method)})"
                  for r in methods]
        lines.append("")
    lines += ["**Data**", ""]
    if not sources:
        lines.append("The run read no bundled dataset.")
    for source in sources:
        text = source.citation or source.title or source.file
        text = text if text.rstrip()[-1:] in (".", "!", "?") else text + "."
        licence = f" Licence: {escape_markdown(source.licence)}." if source.licence else ""
        lines.append(f"- {escape_markdown(text)}{licence}")
    return "\n".join(lines)


def footer_markdown(manifest: dict) -> str:
    """The footer: run date, toolkit version, commit and the data vintages."""
    started = str(manifest.get("started") or manifest.get("finished") or "")[:10]
    commit = manifest.get("git_commit")
    where = (f"commit {escape_markdown(str(commit)[:12])}" if commit
             else "installed package (no git commit)")
    lines = ["---", "",
             f"*Run on {escape_markdown(started or 'an unknown date')} (UTC) with the research "
             f"toolkit {escape_markdown(manifest.get('package_version'))}, {where}.*"]
    sources = data_sources(manifest.get("inputs") or {})
    if sources:
        lines += ["", "*Data vintages:*", ""]
        for source in sources:
            name = source.title or source.file
            detail = "; ".join(escape_markdown(v) for v in (source.publisher, source.vintage)
                               if v) or "not in the dataset registry"
            lines.append(f"- {escape_markdown(name)}: {detail}")
    return "\n".join(lines)


def finish_page(path: Path, manifest: dict, notebook: str | None = None) -> None:
    """Make the executed notebook at ``path`` ready to publish (see the module text).

    Parameters
    ----------
    path : the executed notebook, rewritten in place.
    manifest : the run's manifest; ``inputs``, ``started``, ``package_version`` and
        ``git_commit`` are read.
    notebook : the notebook's name in the notebooks folder (default: the manifest's
        ``notebook``), which chooses the method references.
    """
    import nbformat

    document = nbformat.read(path, as_version=4)
    earlier = [sentence for c in document.cells if c.get("id") == PAGE_CELLS[0]
               for sentence in c.metadata.get("diagnostics", [])]
    document.cells = [c for c in document.cells if c.get("id") not in PAGE_CELLS]
    sentences = earlier + take_stderr(document)
    name = notebook or str(manifest.get("notebook") or "")
    texts = (diagnostics_markdown(sentences),
             references_markdown(name, manifest.get("inputs") or {}),
             footer_markdown(manifest))
    for cell_id, text in zip(PAGE_CELLS, texts, strict=True):
        cell = nbformat.v4.new_markdown_cell(text)
        cell["id"] = cell_id
        cell.metadata["tags"] = [cell_id]
        document.cells.append(cell)
    document.cells[-3].metadata["diagnostics"] = sentences  # kept when finished again
    nbformat.write(document, path)
