//! wechat connector tests.
