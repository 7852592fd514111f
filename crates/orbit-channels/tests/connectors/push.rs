//! push connector tests.
