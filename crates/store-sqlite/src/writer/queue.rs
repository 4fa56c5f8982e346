//! Jobs waiting for the writer: what a write is to it, and the bounded queue a write joins
//! (full, a write is refused at once rather than left to wait).

use tokio::sync::{mpsc, oneshot};
use trailspark_store::{StoreError, StoreResult};

use super::{Ctx, Mode, Writer};

/// A write waiting for the writer: run inside the batch transaction, perhaps twice (see
/// [`Mode`]), then finished with the transaction's outcome once it is over.
pub(super) trait Job: Send {
    /// Runs the write; false means it failed.
    fn run(&mut self, ctx: &Ctx<'_>, mode: Mode) -> bool;
    /// Answers the caller: the write's own result if the batch committed, else `error`.
    fn finish(self: Box<Self>, batch: Result<(), StoreError>);
    /// The updates (or signals, or rows) it writes, for [`trailspark_store::fill_batch`].
    fn weight(&self) -> usize;
}

struct Pending<T, F> {
    write: F,
    weight: usize,
    result: Option<StoreResult<T>>,
    answer: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: Fn(&Ctx<'_>, Mode) -> StoreResult<T> + Send,
{
    fn run(&mut self, ctx: &Ctx<'_>, mode: Mode) -> bool {
        let result = (self.write)(ctx, mode);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, batch: Result<(), StoreError>) {
        let answer = match (batch, self.result) {
            (Ok(()), Some(result)) => result,
            (Err(e), _) => Err(e),
            (Ok(()), None) => Err(StoreError::other("a write was skipped")),
        };
        let _ = self.answer.send(answer);
    }

    fn weight(&self) -> usize {
        self.weight
    }
}

impl Writer {
    /// Runs `f` in the next batch transaction and returns its result once that committed.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&Ctx<'_>, Mode) -> StoreResult<T> + Send + 'static,
    {
        self.write_weighing(1, f).await
    }

    /// As [`Writer::write`], for a write of `weight` updates (or signals, or rows): a batch
    /// takes requests until it holds [`super::BATCH_UPDATES`] of them.
    pub async fn write_weighing<T, F>(&self, weight: usize, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&Ctx<'_>, Mode) -> StoreResult<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending {
            write: f,
            weight,
            result: None,
            answer,
        });
        let sender = self.queue.lock().expect("writer queue lock").clone();
        let Some(sender) = sender else {
            return Err(StoreError::unavailable("the store is shutting down"));
        };
        sender.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                StoreError::unavailable("too many writes are waiting for the store")
            }
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::unavailable("the store writer has stopped")
            }
        })?;
        answered
            .await
            .map_err(|_| StoreError::unavailable("the store writer has stopped"))?
    }
}
