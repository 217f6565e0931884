"""`python -m ablate.cli`: what the `ablate` script runs."""

from ablate.cli.typer_app import main

main()
