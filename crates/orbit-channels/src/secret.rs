//! Secrets in provider configurations: one type from which masking in API answers,
//! sealing at rest and `Debug` all follow, so no list of secret field names exists to
//! fall out of date.
//!
//! # Contract
//! - Serializing a [`Secret`] writes [`MASK`], whoever asks: an API answer, a log line,
//!   a snapshot. Masking is the default so that forgetting it cannot leak.
//! - The plaintext is written and read only inside [`with_plaintext`], which sealing at
//!   rest uses. The request is scoped to one synchronous call on the current thread,
//!   so it cannot spill into other work.
//! - Outside [`with_plaintext`], reading the string [`MASK`] gives a *kept* secret:
//!   "keep the value already stored". [`keep_stored`] fills those in from a stored
//!   configuration; one still kept afterwards is refused by the configuration's
//!   `validate`, naming the field, and cannot be sealed.
//! - `Debug` never prints the value, and [`Secret::expose`] is the only way to it.
//!
//! Which JSON positions hold secrets is learnt from the type itself: a value renders
//! differently masked and in plaintext only where it contains a secret.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::ConfigError;

/// What is shown instead of a secret, and what a client sends back to keep one.
pub const MASK: &str = "••••••";

/// A secret configuration value: a password, an API key, a signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Held);

#[derive(Clone, PartialEq, Eq)]
enum Held {
    Value(String),
    /// Read as [`MASK`]: the value stored before is to be kept.
    Kept,
}

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Held::Value(value.into()))
    }

    /// The plaintext, for the one call that needs it (signing, authenticating).
    ///
    /// A kept secret that was never filled in has none and exposes the empty string;
    /// `validate` refuses a configuration holding one, so a connector never sees it.
    pub fn expose(&self) -> &str {
        match &self.0 {
            Held::Value(value) => value,
            Held::Kept => "",
        }
    }

    /// Whether the secret was sent as [`MASK`] and still waits for the stored value.
    pub fn is_kept(&self) -> bool {
        self.0 == Held::Kept
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whether it is set helps diagnose a configuration; what it is never does.
        f.write_str(match &self.0 {
            Held::Value(value) if value.is_empty() => "<empty>",
            Held::Value(_) => "<redacted>",
            Held::Kept => "<kept>",
        })
    }
}

/// How secrets are written and read on this thread at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rendering {
    /// Every secret is [`MASK`]; [`MASK`] reads as a kept secret.
    Masked,
    /// Secrets are their plaintext, both ways.
    Plaintext,
    /// As `Masked`, except that kept secrets are written as `null`: comparing the two
    /// renderings finds the kept ones.
    KeptAsNull,
    /// Secrets are their plaintext and kept ones [`MASK`], as a client sent them:
    /// written only, to read a typed configuration as its JSON again.
    AsSent,
}

thread_local! {
    static RENDERING: Cell<Rendering> = const { Cell::new(Rendering::Masked) };
}

/// Restores the rendering in force before, also when the call it guards panics.
struct Restore(Rendering);

impl Drop for Restore {
    fn drop(&mut self) {
        RENDERING.set(self.0);
    }
}

fn with_rendering<R>(rendering: Rendering, f: impl FnOnce() -> R) -> R {
    let _restore = Restore(RENDERING.replace(rendering));
    f()
}

/// Runs `f` with every [`Secret`] serialized and deserialized as its plaintext: the
/// path to and from sealed storage, and nothing else.
///
/// `f` must not await: the request holds for this thread, for the duration of the call.
pub fn with_plaintext<R>(f: impl FnOnce() -> R) -> R {
    with_rendering(Rendering::Plaintext, f)
}

/// `value` as JSON the way a client sent it: secrets in plaintext, and [`MASK`] where
/// a secret was sent as one, so that [`keep_stored`] can fill those in. Nothing else
/// may use it: the plaintext is in the answer.
///
/// # Errors
/// When `value` cannot be written as JSON (a map with keys that are not strings).
pub fn as_sent<T: Serialize>(value: &T) -> Result<Value, serde_json::Error> {
    with_rendering(Rendering::AsSent, || serde_json::to_value(value))
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (&self.0, RENDERING.get()) {
            (Held::Value(value), Rendering::Plaintext | Rendering::AsSent) => serializer.serialize_str(value),
            (Held::Value(_), Rendering::Masked | Rendering::KeptAsNull)
            | (Held::Kept, Rendering::Masked | Rendering::AsSent) => serializer.serialize_str(MASK),
            (Held::Kept, Rendering::KeptAsNull) => serializer.serialize_none(),
            (Held::Kept, Rendering::Plaintext) => Err(serde::ser::Error::custom(
                "a secret sent back masked was never given its stored value",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        let kept = value == MASK && RENDERING.get() != Rendering::Plaintext;
        Ok(if kept { Self(Held::Kept) } else { Self::new(value) })
    }
}

impl PartialSchema for Secret {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
            .description(Some(format!(
                "A secret. Answers show it as `{MASK}`; sending `{MASK}` back keeps the stored value."
            )))
            .into()
    }
}

impl ToSchema for Secret {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Secret")
    }
}

/// Replaces each [`MASK`] in `incoming` that stands where `stored` holds secrets by
/// their stored plaintext, so a form shown masked can be saved back without retyping
/// them. A [`MASK`] anywhere else is left alone: in a field that is not secret it is
/// plain text, and in a secret with nothing stored it reads as a kept secret that
/// `validate` refuses.
///
/// # Errors
/// When `stored` itself holds a kept secret, and so has no plaintext to give.
pub fn keep_stored<T: Serialize>(incoming: &mut Value, stored: &T) -> Result<(), serde_json::Error> {
    let shown = serde_json::to_value(stored)?;
    let plain = with_plaintext(|| serde_json::to_value(stored))?;
    restore_masked(incoming, &shown, &plain);
    Ok(())
}

fn restore_masked(incoming: &mut Value, shown: &Value, plain: &Value) {
    match incoming {
        Value::String(text) if text == MASK && shown != plain => *incoming = plain.clone(),
        Value::Object(fields) => {
            for (name, value) in fields.iter_mut() {
                if let (Some(shown), Some(plain)) = (shown.get(name), plain.get(name)) {
                    restore_masked(value, shown, plain);
                }
            }
        }
        Value::Array(items) => {
            for (index, value) in items.iter_mut().enumerate() {
                if let (Some(shown), Some(plain)) = (shown.get(index), plain.get(index)) {
                    restore_masked(value, shown, plain);
                }
            }
        }
        _ => {}
    }
}

/// Refuses a configuration still holding a kept secret, naming one (the first by
/// path, in byte order) by its path in the configuration JSON (`password`,
/// `headers.Authorization`).
pub fn refuse_kept<T: Serialize>(config: &T) -> Result<(), ConfigError> {
    match kept_paths(config).into_iter().next() {
        Some(path) => Err(ConfigError::new(
            path,
            format!("was sent as {MASK} but no value is stored to keep; send the secret itself"),
        )),
        None => Ok(()),
    }
}

/// The paths of the kept secrets in `config`.
fn kept_paths<T: Serialize>(config: &T) -> Vec<String> {
    // Serializing plain data to a JSON value fails only for maps with non-string keys,
    // which no configuration has.
    let masked = serde_json::to_value(config).unwrap_or(Value::Null);
    let probed =
        with_rendering(Rendering::KeptAsNull, || serde_json::to_value(config)).unwrap_or(Value::Null);
    let mut paths = Vec::new();
    differences(&masked, &probed, &mut Vec::new(), &mut paths);
    paths
}

fn differences<'a>(a: &'a Value, b: &'a Value, at: &mut Vec<&'a str>, found: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (name, value) in a {
                if let Some(other) = b.get(name) {
                    at.push(name);
                    differences(value, other, at, found);
                    at.pop();
                }
            }
        }
        _ if a != b => found.push(at.join(".")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Form {
        name: String,
        password: Secret,
        #[serde(default)]
        token: Option<Secret>,
        #[serde(default)]
        headers: BTreeMap<String, Secret>,
    }

    fn form(value: Value) -> Form {
        serde_json::from_value(value).expect("form")
    }

    #[test]
    fn debug_and_serialization_never_show_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Secret::new("")), "<empty>");
        assert_eq!(serde_json::to_value(&secret).expect("json"), MASK);
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn plaintext_is_written_and_read_only_when_asked_for() {
        let secret = Secret::new("hunter2");
        let plain = with_plaintext(|| serde_json::to_string(&secret)).expect("json");
        assert_eq!(plain, r#""hunter2""#);
        assert_eq!(
            serde_json::to_value(&secret).expect("json"),
            MASK,
            "the request ended"
        );

        let masked = format!("{MASK:?}");
        let read: Secret = serde_json::from_str(&masked).expect("secret");
        assert!(read.is_kept());
        let literal: Secret = with_plaintext(|| serde_json::from_str(&masked)).expect("secret");
        assert_eq!(literal.expose(), MASK, "what is stored is read as it is");
    }

    #[test]
    fn the_rendering_is_restored_when_the_call_panics() {
        let unwound = std::panic::catch_unwind(|| with_plaintext(|| panic!("boom")));
        assert!(unwound.is_err());
        assert_eq!(serde_json::to_value(Secret::new("x")).expect("json"), MASK);
    }

    #[test]
    fn a_kept_secret_cannot_be_sealed() {
        let kept: Secret = serde_json::from_value(Value::from(MASK)).expect("secret");
        assert!(with_plaintext(|| serde_json::to_vec(&kept)).is_err());
    }

    #[test]
    fn masks_take_the_stored_value_each_secret_and_map_entry_on_its_own() {
        let stored = form(serde_json::json!({
            "name": "shop", "password": "p1", "token": "t1",
            "headers": {"Authorization": "Bearer a", "X-Tenant": "7"}
        }));
        let mut incoming = serde_json::json!({
            "name": MASK, "password": MASK, "token": "t2",
            "headers": {"Authorization": MASK, "X-Tenant": "8", "X-New": MASK}
        });
        keep_stored(&mut incoming, &stored).expect("kept");
        let kept = form(incoming);
        assert_eq!(kept.name, MASK, "a field that is not secret keeps what was sent");
        assert_eq!(kept.password.expose(), "p1");
        assert_eq!(kept.token.as_ref().map(Secret::expose), Some("t2"));
        assert_eq!(kept.headers["Authorization"].expose(), "Bearer a");
        assert_eq!(kept.headers["X-Tenant"].expose(), "8");
        assert!(
            kept.headers["X-New"].is_kept(),
            "nothing is stored under that key"
        );
        assert_eq!(refuse_kept(&kept).expect_err("kept").field, "headers.X-New");
    }

    #[test]
    fn a_form_read_typed_is_written_back_as_sent_and_keeps_stored_secrets() {
        let stored = form(serde_json::json!({"name": "shop", "password": "p1", "token": "t1"}));
        let sent = form(serde_json::json!({"name": "shop", "password": MASK, "token": "t2"}));
        assert!(sent.password.is_kept());
        let mut json = as_sent(&sent).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"name": "shop", "password": MASK, "token": "t2", "headers": {}})
        );
        keep_stored(&mut json, &stored).expect("kept");
        let kept = form(json);
        assert_eq!(kept.password.expose(), "p1");
        assert_eq!(kept.token.as_ref().map(Secret::expose), Some("t2"));
        assert_eq!(
            serde_json::to_value(Secret::new("x")).expect("json"),
            MASK,
            "the rendering ended"
        );
    }

    #[test]
    fn kept_secrets_are_named_by_their_path() {
        let all_set = form(serde_json::json!({"name": "n", "password": "p", "headers": {"A": "1"}}));
        assert_eq!(refuse_kept(&all_set), Ok(()));
        let kept = form(serde_json::json!({"name": "n", "password": MASK, "token": MASK}));
        assert_eq!(kept_paths(&kept), ["password", "token"]);
    }
}
