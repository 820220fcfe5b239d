"""nn.modules.module."""

__all__: list[str] = []
