"""nn.functional, loss family."""

__all__: list[str] = []
