"""LSTM/GRU translations (filled below)."""
