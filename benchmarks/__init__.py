"""Side-by-side timings of ember and PyTorch (``make bench``)."""
