"""The names of image sources (`--source`), apart from the readers so the command line starts without them."""

SOURCE_KINDS = ("auto", "docker", "podman", "archive", "docker-archive", "oci", "oci-archive", "registry")
