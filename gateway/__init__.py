"""The gateway: prefixes, access checks, authentication, and forwarding to the services."""
