//! email connector tests.
