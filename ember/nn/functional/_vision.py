"""nn.functional, vision family."""

__all__: list[str] = []
