//! WeChat: official account template messages and mini-program subscription messages.
