//! Message templates: content per channel, rendered per person in a sandbox.
//!
//! Every text field of a template is a MiniJinja template. The environment has no
//! loader and no functions that reach files, the network or the process
//! environment; fuel bounds the work one render may do, and a size cap bounds what it
//! may produce. Unknown variables are errors (strict mode) unless the template
//! declares a default for them, so "亲爱的{{ profile.traits.name }}" never goes out
//! as "亲爱的".
//!
//! The one function templates get is `track_link(url)`: it turns a destination into
//! the message's own tracked link when a [`LinkTracker`] is given to the render (the
//! delivery worker's), and leaves it as written otherwise (previews).

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Object, Value};
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use super::channel::Channel;

/// Instructions one render may spend: ample for any message, fatal to a loop bomb.
const FUEL: u64 = 50_000;
/// The longest field a render may produce.
const MAX_OUTPUT: usize = 256 * 1024;
/// Where a render's [`LinkTracker`] sits in the context; not a name a template uses.
const LINKS_VARIABLE: &str = "__links";

/// Turns a destination URL into one message's tracked link, for `track_link(url)`.
pub trait LinkTracker: Send + Sync {
    /// The link that records a click on `url` and then leads there.
    fn tracked(&self, url: &str) -> String;
}

/// A render's tracker as a template value; it prints as nothing useful on purpose.
struct Links(Arc<dyn LinkTracker>);

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("links")
    }
}

impl Object for Links {}

/// `track_link(url)`: the tracked form of an absolute http(s) URL.
fn track_link(state: &minijinja::State, url: String) -> Result<String, minijinja::Error> {
    let absolute = url.starts_with("https://") || url.starts_with("http://");
    if !absolute {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("track_link takes an absolute http or https URL, not {url:?}"),
        ));
    }
    let tracker = state.lookup(LINKS_VARIABLE);
    Ok(
        match tracker.as_ref().and_then(|v| v.downcast_object_ref::<Links>()) {
            Some(links) => links.0.tracked(&url),
            None => url,
        },
    )
}

/// What a template sends, shaped per channel. Every string is template source;
/// rendering yields the same shape with each string rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "channel", rename_all = "snake_case", deny_unknown_fields)]
pub enum TemplateContent {
    /// An email.
    Email {
        /// Subject line.
        subject: String,
        /// HTML part (values are HTML-escaped in it).
        #[serde(default)]
        html: Option<String>,
        /// Plain-text part.
        text: String,
    },
    /// A text message.
    Sms {
        /// The text as read, signature excluded.
        text: String,
        /// The provider-approved template code, for providers that send only those.
        #[serde(default)]
        provider_template: Option<String>,
        /// The provider template's parameters, in order, each a template.
        #[serde(default)]
        params: Vec<TemplateParam>,
    },
    /// An app push notification.
    Push {
        /// Title.
        title: String,
        /// Body.
        body: String,
        /// Data handed to the app.
        #[serde(default)]
        data: BTreeMap<String, String>,
    },
    /// A WeChat official account template message.
    WechatTemplate {
        /// The template id from the official account's back office.
        template_id: String,
        /// Keyword values.
        data: BTreeMap<String, String>,
        /// The page opened on tap.
        #[serde(default)]
        url: Option<String>,
        /// A mini-program app id to open instead of the URL.
        #[serde(default)]
        mini_program_appid: Option<String>,
        /// The mini-program page to open.
        #[serde(default)]
        mini_program_page: Option<String>,
    },
    /// A WeChat mini-program subscription message.
    MiniProgram {
        /// The subscription template id.
        template_id: String,
        /// The page opened on tap.
        #[serde(default)]
        page: Option<String>,
        /// Keyword values.
        data: BTreeMap<String, String>,
    },
    /// A JSON document posted to an endpoint; every string inside is a template.
    Webhook {
        /// The body: any JSON document.
        body: serde_json::Value,
    },
    /// A message the app fetches from the inbox.
    Inbox {
        /// Title.
        title: String,
        /// Body.
        body: String,
        /// Shown as a popup rather than listed quietly.
        #[serde(default)]
        popup: bool,
        /// A link or in-app route opened on tap.
        #[serde(default)]
        link: Option<String>,
    },
    /// A task for the call centre.
    CallTask {
        /// What the agent should say or do.
        script: String,
    },
}

/// One named parameter of a provider template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateParam {
    /// The provider's parameter name (`code`, `name`, or `1`, `2` for positional ones).
    pub name: String,
    /// Its value, a template.
    pub value: String,
}

impl TemplateContent {
    /// The channel this content is for.
    pub fn channel(&self) -> Channel {
        match self {
            TemplateContent::Email { .. } => Channel::Email,
            TemplateContent::Sms { .. } => Channel::Sms,
            TemplateContent::Push { .. } => Channel::Push,
            TemplateContent::WechatTemplate { .. } => Channel::WechatTemplate,
            TemplateContent::MiniProgram { .. } => Channel::MiniProgram,
            TemplateContent::Webhook { .. } => Channel::Webhook,
            TemplateContent::Inbox { .. } => Channel::Inbox,
            TemplateContent::CallTask { .. } => Channel::CallTask,
        }
    }

    /// Applies `f` to every string field, with the field's path, giving content of the
    /// same shape.
    fn map_fields(
        &self,
        f: &mut dyn FnMut(&str, &str) -> Result<String, TemplateError>,
    ) -> Result<TemplateContent, TemplateError> {
        let mut opt = |field: &str, v: &Option<String>| v.as_deref().map(|s| f(field, s)).transpose();
        Ok(match self {
            TemplateContent::Email { subject, html, text } => {
                let html = opt("html", html)?;
                TemplateContent::Email {
                    subject: f("subject", subject)?,
                    html,
                    text: f("text", text)?,
                }
            }
            TemplateContent::Sms {
                text,
                provider_template,
                params,
            } => TemplateContent::Sms {
                text: f("text", text)?,
                provider_template: provider_template.clone(),
                params: params
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        Ok(TemplateParam {
                            name: p.name.clone(),
                            value: f(&format!("params[{i}].value"), &p.value)?,
                        })
                    })
                    .collect::<Result<_, TemplateError>>()?,
            },
            TemplateContent::Push { title, body, data } => TemplateContent::Push {
                title: f("title", title)?,
                body: f("body", body)?,
                data: map_values("data", data, f)?,
            },
            TemplateContent::WechatTemplate {
                template_id,
                data,
                url,
                mini_program_appid,
                mini_program_page,
            } => {
                let url = opt("url", url)?;
                let mini_program_page = opt("mini_program_page", mini_program_page)?;
                TemplateContent::WechatTemplate {
                    template_id: template_id.clone(),
                    data: map_values("data", data, f)?,
                    url,
                    mini_program_appid: mini_program_appid.clone(),
                    mini_program_page,
                }
            }
            TemplateContent::MiniProgram {
                template_id,
                page,
                data,
            } => {
                let page = opt("page", page)?;
                TemplateContent::MiniProgram {
                    template_id: template_id.clone(),
                    page,
                    data: map_values("data", data, f)?,
                }
            }
            TemplateContent::Webhook { body } => TemplateContent::Webhook {
                body: map_json("body", body, f)?,
            },
            TemplateContent::Inbox {
                title,
                body,
                popup,
                link,
            } => {
                let link = opt("link", link)?;
                TemplateContent::Inbox {
                    title: f("title", title)?,
                    body: f("body", body)?,
                    popup: *popup,
                    link,
                }
            }
            TemplateContent::CallTask { script } => TemplateContent::CallTask {
                script: f("script", script)?,
            },
        })
    }
}

fn map_values(
    prefix: &str,
    map: &BTreeMap<String, String>,
    f: &mut dyn FnMut(&str, &str) -> Result<String, TemplateError>,
) -> Result<BTreeMap<String, String>, TemplateError> {
    map.iter()
        .map(|(k, v)| Ok((k.clone(), f(&format!("{prefix}.{k}"), v)?)))
        .collect()
}

fn map_json(
    path: &str,
    value: &serde_json::Value,
    f: &mut dyn FnMut(&str, &str) -> Result<String, TemplateError>,
) -> Result<serde_json::Value, TemplateError> {
    use serde_json::Value as J;
    Ok(match value {
        J::String(s) => J::String(f(path, s)?),
        J::Array(items) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| map_json(&format!("{path}[{i}]"), v, f))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(fields) => J::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), map_json(&format!("{path}.{k}"), v, f)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

/// A template that does not parse or does not render, pointing at the spot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{field}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct TemplateError {
    /// The content field (`subject`, `html`, `data.keyword1`, `body.items[0]`).
    pub field: String,
    /// The line within that field, from 1.
    pub line: Option<usize>,
    /// The variable that was missing, when that was the problem.
    pub variable: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// A template checked once and rendered many times.
#[derive(Debug)]
pub struct CompiledTemplate {
    content: TemplateContent,
    defaults: serde_json::Map<String, serde_json::Value>,
    env: Environment<'static>,
}

impl CompiledTemplate {
    /// Parses every field; `defaults` maps dotted variable paths
    /// (`profile.traits.name`) to the value used when a person lacks it.
    pub fn compile(
        content: TemplateContent,
        defaults: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        env.add_function("track_link", track_link);
        // Only the HTML part escapes values; a text message must show "&" as "&".
        env.set_auto_escape_callback(|name| {
            if name == "html" {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        content.map_fields(&mut |field, source| {
            env.add_template_owned(field.to_owned(), source.to_owned())
                .map_err(|e| describe(field, source, &e))?;
            Ok(String::new())
        })?;
        let mut tree = serde_json::Map::new();
        for (path, value) in defaults {
            if path.split('.').any(str::is_empty) {
                return Err(TemplateError {
                    field: format!("defaults.{path}"),
                    line: None,
                    variable: Some(path.clone()),
                    message: "a default's path must be dotted names like profile.traits.name".to_owned(),
                });
            }
            insert_path(&mut tree, path, value.clone());
        }
        Ok(Self {
            content,
            defaults: tree,
            env,
        })
    }

    /// The content as written.
    pub fn content(&self) -> &TemplateContent {
        &self.content
    }

    /// Renders every field against `context` (a JSON object: `profile`, `tags`,
    /// `event`, `coupon`, `campaign`, `unsubscribe_url`); `track_link` leaves links
    /// as written.
    pub fn render(&self, context: &serde_json::Value) -> Result<TemplateContent, TemplateError> {
        self.render_with(context, None)
    }

    /// Renders like [`CompiledTemplate::render`], with `track_link` giving the links of
    /// one message through `links`.
    pub fn render_tracked(
        &self,
        context: &serde_json::Value,
        links: Arc<dyn LinkTracker>,
    ) -> Result<TemplateContent, TemplateError> {
        self.render_with(context, Some(links))
    }

    fn render_with(
        &self,
        context: &serde_json::Value,
        links: Option<Arc<dyn LinkTracker>>,
    ) -> Result<TemplateContent, TemplateError> {
        let mut merged = match context {
            serde_json::Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        merged.remove(LINKS_VARIABLE);
        fill_defaults(&mut merged, &self.defaults);
        let data = Value::from(minijinja::value::Serde(&merged));
        let ctx = match links {
            Some(links) => minijinja::context! { __links => Value::from_object(Links(links)), ..data },
            None => data,
        };
        self.content.map_fields(&mut |field, source| {
            let template = self
                .env
                .get_template(field)
                .map_err(|e| describe(field, source, &e))?;
            let out = template.render(&ctx).map_err(|e| describe(field, source, &e))?;
            if out.len() > MAX_OUTPUT {
                return Err(TemplateError {
                    field: field.to_owned(),
                    line: None,
                    variable: None,
                    message: format!("renders to more than {MAX_OUTPUT} bytes"),
                });
            }
            Ok(out)
        })
    }
}

/// Adds a defaults tree under values that are missing or null.
fn fill_defaults(
    target: &mut serde_json::Map<String, serde_json::Value>,
    defaults: &serde_json::Map<String, serde_json::Value>,
) {
    for (key, default) in defaults {
        match (target.get_mut(key), default) {
            (Some(serde_json::Value::Object(inner)), serde_json::Value::Object(nested)) => {
                fill_defaults(inner, nested);
            }
            (Some(existing), _) if !existing.is_null() => {}
            _ => {
                target.insert(key.clone(), default.clone());
            }
        }
    }
}

fn insert_path(tree: &mut serde_json::Map<String, serde_json::Value>, path: &str, value: serde_json::Value) {
    match path.split_once('.') {
        None => {
            tree.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = tree
                .entry(head.to_owned())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            if !child.is_object() {
                *child = serde_json::Value::Object(serde_json::Map::new());
            }
            if let serde_json::Value::Object(map) = child {
                insert_path(map, rest, value);
            }
        }
    }
}

/// Turns an engine error into one that names the field, line and variable.
fn describe(field: &str, source: &str, error: &minijinja::Error) -> TemplateError {
    let variable = match error.kind() {
        minijinja::ErrorKind::UndefinedError => error
            .range()
            .and_then(|r| source.get(r))
            .map(|s| s.trim().to_owned()),
        _ => None,
    };
    let message = match (&variable, error.kind()) {
        (Some(v), minijinja::ErrorKind::UndefinedError) => {
            format!("{v} is not set for this person and has no default")
        }
        (_, minijinja::ErrorKind::OutOfFuel) => "the template does too much work".to_owned(),
        _ => error
            .detail()
            .map(str::to_owned)
            .unwrap_or_else(|| error.kind().to_string()),
    };
    TemplateError {
        field: field.to_owned(),
        line: error.line(),
        variable,
        message,
    }
}

#[cfg(test)]
mod tests;
