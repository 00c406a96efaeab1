"""Reading images: engines, archives, OCI layouts, registries, layer streams and the layer cache."""
