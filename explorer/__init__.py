"""CNN Explorer: learn and inspect convolutional neural networks, exactly as PyTorch computes them."""
