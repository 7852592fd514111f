//! The one error type every storage port returns.

/// A storage failure, in terms a caller can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The write did not happen (the transaction was rolled back or never began).
    #[error("storage unavailable, nothing was written: {0}")]
    NotWritten(String),
    /// The outcome of a write is unknown (the commit itself failed).
    #[error("storage failed, the write may or may not have happened: {0}")]
    Unknown(String),
    /// A uniqueness rule refused the write.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Stored data could not be read back as the domain expects.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the write certainly did not happen, so retrying cannot duplicate it.
    pub fn certainly_not_written(&self) -> bool {
        matches!(self, Self::NotWritten(_) | Self::AlreadyExists(_))
    }
}
