"""The amavisd service: spam policies and white/blacklists (the amavisd database)."""
