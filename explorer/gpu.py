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

# Every event that computes (a model, or the Kernel tab's slide) joins one queue that serves one
# request at a time: requests on the 2 cores then finish in arrival order, each waiting only for the
# ones ahead of it (fair waiting), and a burst waits in the queue, with its place shown, instead of
# piling threads onto the per-model locks. Events that only show what is already computed stay out.
MODEL_QUEUE = dict(concurrency_id="model", concurrency_limit=1)
