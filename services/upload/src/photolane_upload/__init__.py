"""photolane upload service."""
