"""`python -m mlops` == `mlops`."""

from mlops.cli import main

main()
