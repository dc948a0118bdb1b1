"""photolane processor service."""
