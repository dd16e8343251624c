"""One module per audio source: each lists its items (paths + labels) without decoding audio."""
