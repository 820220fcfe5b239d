"""nn.functional, rnn family."""

__all__: list[str] = []
