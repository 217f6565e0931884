"""`python -m ablate.cli`: what the `ablate` script runs."""

from ablate.cli.app import main

main()
