//! webhook connector tests.
