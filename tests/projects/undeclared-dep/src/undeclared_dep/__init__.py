from undeclared_dep._speed import answer

__all__ = ["answer"]
