"""``--batch``: a run's pending requests through the OpenAI Batch API or Anthropic Message
Batches (half price, results within a day), written back as the cassettes of the synchronous
exchanges, so later runs replay them exactly as if they had been asked directly.

What the plugin calls::

    outcome = run_batch(cases, run_settings, BatchSettings(budget=budget))  # before items run
    note = failure_note(cassette)   # in an item: the batch's error for a cassette, or None
"""

from spec_pytest.pipeline.batch.apis import BatchApi, BatchStatus, batch_api
from spec_pytest.pipeline.batch.notes import failure_note, note_path
from spec_pytest.pipeline.batch.runner import (
    BatchApiError,
    BatchOutcome,
    BatchPending,
    BatchSettings,
    run_batch,
)
from spec_pytest.pipeline.batch.served import BatchResult, PendingRequest, custom_id
from spec_pytest.pipeline.batch.state import BatchState, BatchStateError, SubmittedBatch, default_state_path

__all__ = [
    "BatchApi",
    "BatchApiError",
    "BatchOutcome",
    "BatchPending",
    "BatchResult",
    "BatchSettings",
    "BatchState",
    "BatchStateError",
    "BatchStatus",
    "PendingRequest",
    "SubmittedBatch",
    "batch_api",
    "custom_id",
    "default_state_path",
    "failure_note",
    "note_path",
    "run_batch",
]
