"""Writes of the training app, by what they serve:

* `registry`: registering and activating model versions, announcing an activation;
* `jobs`: creating, validating, queueing, cancelling and recovering training jobs (the web side);
* `execution`: claiming, running and reporting the progress of a job (the worker's side);
* `job_rows`: the writes to a job's row that both sides share.

Training and evaluation themselves live in `training.core` (plain Python); these modules wire them
to the database: a job's row is its progress report, its cancel switch and its result.
"""
