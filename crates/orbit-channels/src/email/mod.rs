//! Email over SMTP.
