"""The farm's processes: `farm up`, workers and their capabilities, the Temporal dev server."""
