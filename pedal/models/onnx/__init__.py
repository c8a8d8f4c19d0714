"""The pedal's ONNX amp models: a protobuf reader (the daemon's, no onnx package needed),
recognition onto the numba engines, the onnxruntime engine, and the writer."""
