"""nn.init: initialisation functions."""
