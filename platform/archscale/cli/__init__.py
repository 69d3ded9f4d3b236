"""The `archscale` command line: thin typer commands over the library modules."""
