"""What this machine has: platform, interpreters, GPUs and other accelerators, CPU level.

The one place that asks the machine: detectors in ``detect.py``, the facts and their override file
in ``facts.py``, the GPU view that verify and the farm use in ``gpu.py``.
"""
