"""svc_a (source-1)."""
