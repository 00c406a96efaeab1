"""A small service: what the demo image ships as application code."""

import click


@click.command()
def main() -> None:
    """Say hello."""
    click.echo("demo-service 1.0.0")
