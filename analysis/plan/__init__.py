"""Planning and rewriting: dependency groups, the Dockerfile, pyproject.toml edits, rebuild costs, proof builds."""
