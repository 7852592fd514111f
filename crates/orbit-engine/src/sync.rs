//! Locks whose poisoning is handled once, here.
//!
//! A panic while a lock is held poisons it in `std`. The engine's shared state is
//! rebuilt from the log and the stores, never patched in place half-way by code that
//! can panic on input (no `unwrap` on input), so a poisoned lock still guards usable
//! state: it is taken as it is rather than turning one failed request into a server
//! that refuses every later one.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shared state read by many and written by few.
#[derive(Debug, Default)]
pub(crate) struct Shared<T>(RwLock<T>);

impl<T> Shared<T> {
    /// Wraps `value`.
    pub(crate) fn new(value: T) -> Self {
        Self(RwLock::new(value))
    }

    /// Shared access.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// State one caller at a time may touch.
#[derive(Debug, Default)]
pub(crate) struct Exclusive<T>(Mutex<T>);

impl<T> Exclusive<T> {
    /// Wraps `value`.
    pub(crate) fn new(value: T) -> Self {
        Self(Mutex::new(value))
    }

    /// Exclusive access.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
