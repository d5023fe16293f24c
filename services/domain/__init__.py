"""The domain service: /api/domain/… and /api/domains."""
