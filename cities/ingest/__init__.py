"""Ingestion: every way a photo gets in, through one `store.ingest_one` and one `report.IngestReport`.

- validation.py: is it a whole, sane image of the type it claims; the renditions we store
- store.py: ingest_one (validate, dedupe, store one image) and the hand-over for predictions
- report.py: IngestReport, what a run stored, skipped, rejected, and what failed
- upload.py: the admin upload (files and zips, all or nothing); folder.py: `manage.py import_photos`
- scrape.py: the scrape service; providers/: where candidates come from (Commons, Openverse, URL lists)
- safe_http.py: the HTTP client; ssrf.py: what it may connect to; politeness.py: its manners per host
- forms.py: the admin's upload and scrape forms
"""
