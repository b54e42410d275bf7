"""A custom PyTorch operator: ``scaled_add(x, y, alpha) = x + alpha * y``.

Importing the package loads torch, then the compiled ``_C`` module, which registers
``torch.ops.torch_extension.scaled_add`` with a CPU kernel (and a CUDA kernel in CUDA builds).
"""

import torch

from torch_extension import _C

__all__ = ["has_cuda", "scaled_add"]


def has_cuda() -> bool:
    """Whether this build carries the CUDA kernel."""
    return bool(_C.has_cuda())


def scaled_add(x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``x + alpha * y`` by the compiled operator (float32, same shape, same device)."""
    return torch.ops.torch_extension.scaled_add(x, y, float(alpha))
