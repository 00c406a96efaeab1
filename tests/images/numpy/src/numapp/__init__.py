"""numapp."""
