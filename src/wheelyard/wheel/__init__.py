"""Reading and rewriting wheel files: pure Python, no subprocesses."""
