"""The admin service: standalone admins and API keys."""
