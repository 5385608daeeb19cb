"""Customer.io Reporting Webhooks -> landing in minutes: a signed, deduplicating receiver with durable acks.

``signature`` checks ``X-CIO-Signature``; ``events`` turns a body into landed rows (no email, no content);
``journal`` makes an event durable (fsync) before the 2xx; ``flusher`` lands the journal as hourly micro-batches;
``app`` is the ASGI app; ``python -m airflow_provider_cio.webhooks`` serves it with uvicorn.
"""
