"""nn.functional, normalization family."""

__all__: list[str] = []
