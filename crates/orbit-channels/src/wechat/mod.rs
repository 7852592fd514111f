//! WeChat: official account template messages and mini-program subscription messages.
//!
//! Both speak WeChat's server API through one client (`api`): an access token per
//! account, shared by every connector of that account ([`token`]), JSON answers
//! carrying an `errcode`, and events pushed back to the account's server URL, signed
//! with its server Token ([`server_push`]). The recipient's address is the user's
//! openid for that account.

mod api;
pub mod mini_program;
pub mod official_account;
pub mod server_push;
pub mod token;
