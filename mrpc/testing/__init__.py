"""Tools for testing this project's code paths for real: `hub`, a Hugging Face Hub on the loopback."""
