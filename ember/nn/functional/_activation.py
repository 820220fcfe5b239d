"""nn.functional, activation family."""

__all__: list[str] = []
