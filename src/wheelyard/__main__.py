"""`python -m wheelyard` runs the command-line interface."""

from wheelyard.cli.main import run

if __name__ == "__main__":
    run()
