"""The JSON REST API under ``/api/v1/``, one module per area; ``services.http.routes`` lists it."""
