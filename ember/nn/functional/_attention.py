"""nn.functional, attention family."""

__all__: list[str] = []
