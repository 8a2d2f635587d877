"""``python -m ivory`` runs the command line."""

from ivory.cli import main

main()
