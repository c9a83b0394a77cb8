"""One module per source: build the bundled tables and read users' files."""
