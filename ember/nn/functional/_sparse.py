"""nn.functional, sparse family."""

__all__: list[str] = []
