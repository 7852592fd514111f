//! The ingest writer: one task that owns appends to the event log.
//!
//! Requests queue in a channel; each commit takes everything queued so far, so under
//! load many requests share one transaction (group commit) without any added delay.
//! A request is answered only after its events are durable.

use orbit_core::NewEvent;
use orbit_store::{AppendOutcome, EventLog, LogPosition, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// Most events one commit takes.
const MAX_EVENTS_PER_COMMIT: usize = 20_000;

/// The writer has stopped; nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("the ingest writer has stopped")]
pub struct WriterClosed;

enum Request {
    Append {
        events: Vec<NewEvent>,
        reply: oneshot::Sender<Result<Vec<AppendOutcome>, StoreError>>,
    },
    Barrier {
        reply: oneshot::Sender<LogPosition>,
    },
}

/// A handle for appending events; cheap to clone.
#[derive(Clone, Debug)]
pub struct IngestWriter {
    requests: mpsc::Sender<Request>,
    appended: watch::Receiver<LogPosition>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Append { events, .. } => write!(f, "Append({} events)", events.len()),
            Self::Barrier { .. } => f.write_str("Barrier"),
        }
    }
}

impl IngestWriter {
    /// Starts the writer task over `log`.
    pub async fn start(log: Arc<dyn EventLog>) -> Result<Self, StoreError> {
        let head = log.head().await?;
        let (requests, inbox) = mpsc::channel(4_096);
        let (appended_tx, appended) = watch::channel(head);
        tokio::spawn(run(log, inbox, appended_tx));
        Ok(Self { requests, appended })
    }

    /// Appends events; returns once they are durable, with one outcome per event.
    pub async fn append(
        &self,
        events: Vec<NewEvent>,
    ) -> Result<Result<Vec<AppendOutcome>, StoreError>, WriterClosed> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Append { events, reply })
            .await
            .map_err(|_| WriterClosed)?;
        answer.await.map_err(|_| WriterClosed)
    }

    /// Waits until every append queued before this call is settled; returns the log head.
    pub async fn barrier(&self) -> Result<LogPosition, WriterClosed> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Barrier { reply })
            .await
            .map_err(|_| WriterClosed)?;
        answer.await.map_err(|_| WriterClosed)
    }

    /// The position of the newest durable event; changes as appends commit.
    pub fn appended(&self) -> watch::Receiver<LogPosition> {
        self.appended.clone()
    }
}

async fn run(
    log: Arc<dyn EventLog>,
    mut inbox: mpsc::Receiver<Request>,
    appended: watch::Sender<LogPosition>,
) {
    let mut pending: Vec<Request> = Vec::new();
    while let Some(first) = inbox.recv().await {
        pending.push(first);
        let mut count = event_count(&pending);
        while count < MAX_EVENTS_PER_COMMIT {
            match inbox.try_recv() {
                Ok(next) => {
                    count += event_count(std::slice::from_ref(&next));
                    pending.push(next);
                }
                Err(_) => break,
            }
        }
        let mut batch = Vec::with_capacity(count);
        let mut sizes = Vec::with_capacity(pending.len());
        let mut replies = Vec::with_capacity(pending.len());
        let mut barriers = Vec::new();
        for request in pending.drain(..) {
            match request {
                Request::Append { events, reply } => {
                    sizes.push(events.len());
                    batch.extend(events);
                    replies.push(reply);
                }
                Request::Barrier { reply } => barriers.push(reply),
            }
        }
        if !batch.is_empty() {
            let result = log.append(&batch).await;
            match result {
                Ok(outcomes) => {
                    let newest = outcomes.iter().filter_map(|o| match o {
                        AppendOutcome::Appended(p) => Some(*p),
                        AppendOutcome::Duplicate => None,
                    });
                    if let Some(head) = newest.max() {
                        appended.send_if_modified(|current| {
                            let advanced = head > *current;
                            *current = (*current).max(head);
                            advanced
                        });
                    }
                    let mut rest = outcomes.as_slice();
                    for (size, reply) in sizes.into_iter().zip(replies) {
                        let (mine, others) = rest.split_at(size.min(rest.len()));
                        rest = others;
                        let _ = reply.send(Ok(mine.to_vec()));
                    }
                }
                Err(error) => {
                    tracing::error!(error = %error, events = batch.len(), "appending to the event log failed");
                    let message = error.to_string();
                    let certain = error.certainly_not_written();
                    for reply in replies {
                        let e = if certain {
                            StoreError::NotWritten(message.clone())
                        } else {
                            StoreError::Unknown(message.clone())
                        };
                        let _ = reply.send(Err(e));
                    }
                }
            }
        }
        let head = *appended.borrow();
        for reply in barriers {
            let _ = reply.send(head);
        }
    }
}

fn event_count(requests: &[Request]) -> usize {
    requests
        .iter()
        .map(|r| match r {
            Request::Append { events, .. } => events.len(),
            Request::Barrier { .. } => 0,
        })
        .sum()
}
