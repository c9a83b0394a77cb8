"""Report runs: papermill execution, HTML copies, manifests and the index page."""
