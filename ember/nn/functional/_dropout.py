"""nn.functional, dropout family."""

__all__: list[str] = []
