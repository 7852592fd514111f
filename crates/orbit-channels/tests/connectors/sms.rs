//! sms connector tests.
