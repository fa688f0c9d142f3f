"""Notifications to families: an outbox filled from the audit log (and a reminder scan), sent
to a webhook gateway with retries, or shown to officers as a prefilled wa.me link."""
