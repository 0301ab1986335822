"""Gradio's queue settings for the app's events, in one place (the core knows nothing of Gradio's queue).

Every event that computes (a model, or the Kernel tab's slide) joins one queue that serves one request
at a time: requests on the 2 cores then finish in arrival order, each waiting only for the ones ahead
of it (fair waiting), and a burst waits in the queue, with its place shown, instead of piling threads
onto the per-model locks. Events that only show what is already computed stay out. Use it as
`button.click(fn, inputs, outputs, **MODEL_QUEUE)`."""

MODEL_QUEUE = dict(concurrency_id="model", concurrency_limit=1)
