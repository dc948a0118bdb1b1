"""Code shared by the three photolane services (installed into each image, never copied)."""
