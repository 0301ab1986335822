"""Scripts, run as modules from the repository root: `python -m scripts.check_space`,
`python -m scripts.train_digits`, `python -m scripts.render_performance`."""
