"""What this machine has: platform, interpreters, GPUs."""
