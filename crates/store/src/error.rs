use thiserror::Error;

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in a store, independent of the backend. Backends map their driver
/// errors to these in one place.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// The thing asked for does not exist (for this tenant).
    #[error("not found")]
    NotFound,
    /// A page cursor that this store did not hand out.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A unique value is already taken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store cannot be reached or is too busy right now; the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; a bug or corrupt data.
    #[error("store error: {0}")]
    Other(String),
}
