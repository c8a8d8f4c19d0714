"""Names the pedal's ONNX reader and writer share (the layout of its own graphs)."""

FORMAT = "pedal-amp/1"       # metadata pedal.format
STATE_INIT = "pedal_h0"      # the initializer holding a flat-state graph's initial state
