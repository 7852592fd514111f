//! App push: Firebase Cloud Messaging (HTTP v1) and JPush.
//!
//! Both take the device token (FCM registration token, JPush registration id) as the
//! recipient's address and a [`PushContent`](crate::PushContent) as the message.

pub mod fcm;
pub mod jpush;
