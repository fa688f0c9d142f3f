"""Monthly reports for auditors and the regional office: figures, charts, page, CSV and PDF."""
