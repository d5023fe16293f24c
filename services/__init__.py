"""The four services, each a small Falcon app behind the gateway."""
