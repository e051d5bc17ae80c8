"""``python -m plie_audit`` runs the command line."""

from plie_audit.cli.main import main

main()
