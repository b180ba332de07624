"""First-layer filters of convolutional models as motifs: PPMs, MEME files, JASPAR matches (Tomtom), logos."""
