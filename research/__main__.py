"""``python -m research ...``: the ``research`` command line without its launcher script."""

from research.cli import app

app(prog_name="research")
