"""The operator API: an HTTP edge over the pipeline core (FastAPI, `/api/v1`)."""
