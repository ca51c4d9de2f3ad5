"""Command-line interface: `python -m bot <command>`."""
