"""nn.functional, conv family."""

__all__: list[str] = []
