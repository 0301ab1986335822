"""`gpu`: the decorator for functions that run a model. On Hugging Face ZeroGPU Spaces it is
`spaces.GPU` (a GPU is attached while the function runs); elsewhere it changes nothing.
`spaces` is imported only when it is installed."""
import importlib.util

if importlib.util.find_spec("spaces") is not None:
    import spaces

    gpu = spaces.GPU
else:
    def gpu(fn=None, **options):
        """No-op stand-in for spaces.GPU: usable as @gpu and as @gpu(duration=...)."""
        if fn is None:
            return lambda f: f
        return fn
