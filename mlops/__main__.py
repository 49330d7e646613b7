"""`python -m mlops` == `mlops`."""

from mlops.cli.main import main

main()
