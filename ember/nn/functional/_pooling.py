"""nn.functional, pooling family."""

__all__: list[str] = []
