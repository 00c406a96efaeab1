"""lib_b (source-1)."""
