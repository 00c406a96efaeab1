"""svc_b (source-1)."""
