"""The public status page of published statements (`/status`, `/status/feed.atom`,
`/status.json`), mounted by app.py on the `serve` app."""
