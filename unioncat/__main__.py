"""Allow ``python -m unioncat``."""
from unioncat.cli import main

main()
