"""nn.functional, linear family."""

__all__: list[str] = []
