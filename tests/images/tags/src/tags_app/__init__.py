"""tags-app."""
