"""photolane notifier service."""
