"""Report runs: papermill execution (serial, process pool or Dask), HTML copies, manifests,
changed-only regeneration, the index page and PDF export."""
