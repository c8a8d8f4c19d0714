"""Audio files: reading and writing recordings, and cabinet impulse responses."""
