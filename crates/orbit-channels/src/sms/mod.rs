//! Text messages: Aliyun SMS, Tencent Cloud SMS, Twilio, and part counting.

pub mod parts;
