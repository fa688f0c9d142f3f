"""Tatap's domain and storage: settings, model, tokens, audit log, stores, REST API, CLI."""
