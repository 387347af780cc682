"""Fine-tune a transformer sequence classifier on GLUE MRPC with a Hydra-configured PyTorch loop."""
