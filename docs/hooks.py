"""MkDocs hook: one API reference page per public module of the ``research`` package.

Every module whose dotted name has no part starting with ``_`` gets a page
``reference/<module>.md`` holding ``::: <module>`` (rendered by mkdocstrings from the
docstrings), and the "Reference" section of the navigation lists them grouped by
subpackage. A new module therefore appears in the docs without editing them.
"""

from __future__ import annotations

import pkgutil

from mkdocs.structure.files import File

PACKAGE = "research"
SECTION = "Reference"


def public_modules() -> list[str]:
    """Dotted names of the public modules of the package, sorted."""
    import research

    names = [PACKAGE]
    for info in pkgutil.walk_packages(research.__path__, f"{PACKAGE}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _page(name: str) -> str:
    return f"reference/{name}.md"


def on_config(config):
    groups: dict[str, list] = {}
    for name in public_modules():
        parent = name.rsplit(".", 1)[0] if name.count(".") > 1 else PACKAGE
        groups.setdefault(parent, []).append({name: _page(name)})
    entries = [{"Overview": "reference/index.md"}, *groups.pop(PACKAGE)]
    entries += [{group: pages} for group, pages in sorted(groups.items())]
    for item in config["nav"]:
        if isinstance(item, dict) and SECTION in item:
            item[SECTION] = entries
    return config


def on_files(files, config):
    lines = ["# Reference", "",
             "One page per public module, generated from the docstrings "
             "(numpy style) by mkdocstrings.", ""]
    for name in public_modules():
        files.append(File.generated(config, _page(name),
                                    content=f"# `{name}`\n\n::: {name}\n"))
        lines.append(f"- [`{name}`]({name}.md)")
    files.append(File.generated(config, "reference/index.md", content="\n".join(lines) + "\n"))
    return files
