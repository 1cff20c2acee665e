"""`python -m wxwork_demo …` is the `wxwork` command (for a virtualenv without the console script)."""

from wxwork_demo.cli import main

main()
