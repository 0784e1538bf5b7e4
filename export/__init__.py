"""Export of the neural engine (torch -> ONNX -> TensorRT) and the runtimes behind one runner interface."""
