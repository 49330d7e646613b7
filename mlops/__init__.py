"""The mlops command-line interface."""
