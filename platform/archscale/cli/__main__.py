"""`python -m archscale.cli` runs the command line (the same as the `archscale` script)."""

from archscale.cli.app import script

script()
