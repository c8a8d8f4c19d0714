"""The tuner: a pitch tracker (guitar and bass), note names and tunings, `pedal tuner`, its
benchmark, and a tuner block for a chain."""
