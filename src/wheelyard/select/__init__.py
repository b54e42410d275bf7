"""Platform detection (GPU driver and arch, ROCm, x86-64 level) and PEP 825 variant selection."""
