//! What tests need to form a batch on purpose, without sleeping and hoping: a job that holds
//! the writer thread until released, and the count of jobs queued behind it.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::Writer;

/// How long a test waits for the writer to reach a gate or for jobs to queue: far more than
/// either takes, so only a broken writer runs into it.
const DEADLINE: Duration = Duration::from_secs(10);

/// A gate a job waits at, holding the writer thread until the test opens it: every job sent
/// meanwhile waits in the queue, and they form the next batch together.
#[derive(Clone, Default)]
pub(crate) struct Gate(Arc<(Mutex<GateState>, Condvar)>);

#[derive(Default)]
struct GateState {
    reached: bool,
    open: bool,
}

impl Gate {
    /// Run inside a job: says the writer got here, then waits until the gate opens.
    pub(crate) fn wait(&self) {
        let (state, changed) = &*self.0;
        let mut state = state.lock().expect("gate lock");
        state.reached = true;
        changed.notify_all();
        while !state.open {
            state = changed.wait(state).expect("gate lock");
        }
    }

    /// Returns once a job waits at the gate.
    pub(crate) async fn reached(&self) {
        let gate = self.clone();
        tokio::task::spawn_blocking(move || {
            let (state, changed) = &*gate.0;
            let state = state.lock().expect("gate lock");
            let (state, _) = changed
                .wait_timeout_while(state, DEADLINE, |s| !s.reached)
                .expect("gate lock");
            assert!(state.reached, "the writer never reached the gate");
        })
        .await
        .expect("gate task");
    }

    /// Lets the job at the gate, and so the writer, go on.
    pub(crate) fn open(&self) {
        let (state, changed) = &*self.0;
        state.lock().expect("gate lock").open = true;
        changed.notify_all();
    }
}

impl Writer {
    /// Jobs sent to the writer and not yet taken into a batch.
    pub(crate) fn queued(&self) -> usize {
        let queue = self.queue.lock().expect("writer queue lock");
        queue
            .as_ref()
            .map_or(0, |sender| sender.max_capacity() - sender.capacity())
    }

    /// Returns once `jobs` jobs are queued: a job sent by a spawned task is queued only once
    /// that task ran, which no sleep can promise.
    pub(crate) async fn queued_reaches(&self, jobs: usize) {
        let started = Instant::now();
        while self.queued() < jobs {
            assert!(
                started.elapsed() < DEADLINE,
                "{} jobs queued, waiting for {jobs}",
                self.queued()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(self.queued(), jobs, "no more jobs than sent");
    }
}
