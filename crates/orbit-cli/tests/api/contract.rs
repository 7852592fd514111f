//! The API contract, checked on every answer the tests receive: each answer's status
//! must be one `/openapi.json` lists for the operation, and its JSON body must match the
//! schema the document gives for that status. So the document cannot describe
//! something the server does not send.

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The OpenAPI document of a running server, with the validators compiled so far.
pub struct Contract {
    document: Value,
    validators: Mutex<HashMap<(String, String, String), Arc<jsonschema::Validator>>>,
}

impl Contract {
    /// The document served at `base`.
    async fn fetch(http: &reqwest::Client, base: &str) -> Self {
        let document = http
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .expect("the document is served")
            .json()
            .await
            .expect("the document is JSON");
        Self {
            document,
            validators: Mutex::default(),
        }
    }

    /// The path template of the document that `path` matches; literal segments win over
    /// parameters (`/v1/segments/compare` over `/v1/segments/{id}`).
    fn template(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let paths = self.document["paths"].as_object()?;
        paths
            .keys()
            .filter_map(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut literal = 0;
                for (part, segment) in parts.iter().zip(&segments) {
                    if part.starts_with('{') {
                        continue;
                    }
                    if part != segment {
                        return None;
                    }
                    literal += 1;
                }
                Some((literal, template))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, template)| template.clone())
    }

    /// Checks one answer; the error says what the document and the answer disagree on.
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let operation_name = format!("{method} {path}");
        // CORS pre-flights are the transport's, not operations of the API.
        if method == Method::OPTIONS {
            return Ok(());
        }
        let Some(template) = self.template(path) else {
            return if path.starts_with("/v1/") || path.starts_with("/t/") {
                Err(format!("{operation_name}: the document has no such path"))
            } else {
                // Operations' pages (/docs, /metrics, /openapi.json) are not API calls.
                Ok(())
            };
        };
        let method_name = method.as_str().to_ascii_lowercase();
        let operation = &self.document["paths"][&template][&method_name];
        if !operation.is_object() {
            return Err(format!(
                "{operation_name}: the document has no {method} on {template}"
            ));
        }
        let status_name = status.to_string();
        let response = &operation["responses"][&status_name];
        if !response.is_object() {
            return Err(format!(
                "{operation_name}: answered {status}, which the document does not list for {method} {template}"
            ));
        }
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("application/json") {
            return Ok(());
        }
        let schema = &response["content"]["application/json"]["schema"];
        if !schema.is_object() {
            return Err(format!(
                "{operation_name}: answered {status} with JSON, but the document gives no JSON schema for it"
            ));
        }
        let key = (template.clone(), method_name, status_name);
        let validator = {
            let mut validators = self.validators.lock().expect("lock");
            match validators.get(&key) {
                Some(v) => v.clone(),
                None => {
                    // The response's schema with the document's components beside it, so
                    // its `#/components/schemas/…` references resolve.
                    let mut root = schema.clone();
                    root["components"] = self.document["components"].clone();
                    let validator = Arc::new(jsonschema::validator_for(&root).map_err(|e| {
                        format!("{operation_name}: the schema for {status} does not compile: {e}")
                    })?);
                    validators.insert(key, validator.clone());
                    validator
                }
            }
        };
        let instance: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{operation_name}: the answer is not JSON: {e}"))?;
        let problems: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("at {}: {e}", e.instance_path()))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{operation_name} answered {status} with a body the document does not describe:\n  {}\nbody: {}",
                problems.join("\n  "),
                String::from_utf8_lossy(body)
            ))
        }
    }
}

/// An HTTP client whose every answer is checked against the server's contract.
#[derive(Clone)]
pub struct CheckedClient {
    inner: reqwest::Client,
    base: Arc<Mutex<String>>,
    contract: Arc<OnceLock<Arc<Contract>>>,
}

impl CheckedClient {
    /// A client for the server at `base` (which may change when the server restarts).
    pub fn new(inner: reqwest::Client, base: Arc<Mutex<String>>) -> Self {
        Self {
            inner,
            base,
            contract: Arc::default(),
        }
    }

    async fn contract(&self) -> Arc<Contract> {
        if let Some(contract) = self.contract.get() {
            return contract.clone();
        }
        let base = self.base.lock().expect("lock").clone();
        let fetched = Arc::new(Contract::fetch(&self.inner, &base).await);
        self.contract.get_or_init(|| fetched).clone()
    }

    /// A request of `method` to `url`.
    pub fn request(&self, method: Method, url: impl reqwest::IntoUrl) -> CheckedRequest {
        let url = url.into_url().expect("a URL");
        CheckedRequest {
            client: self.clone(),
            method: method.clone(),
            path: url.path().to_owned(),
            inner: self.inner.request(method, url),
        }
    }

    /// A GET.
    pub fn get(&self, url: impl reqwest::IntoUrl) -> CheckedRequest {
        self.request(Method::GET, url)
    }

    /// A POST.
    pub fn post(&self, url: impl reqwest::IntoUrl) -> CheckedRequest {
        self.request(Method::POST, url)
    }

    /// A PATCH.
    pub fn patch(&self, url: impl reqwest::IntoUrl) -> CheckedRequest {
        self.request(Method::PATCH, url)
    }

    /// A DELETE.
    pub fn delete(&self, url: impl reqwest::IntoUrl) -> CheckedRequest {
        self.request(Method::DELETE, url)
    }
}

/// A request being built; its answer is checked when it arrives.
pub struct CheckedRequest {
    client: CheckedClient,
    method: Method,
    path: String,
    inner: reqwest::RequestBuilder,
}

impl CheckedRequest {
    /// An `Authorization: Bearer` header.
    pub fn bearer_auth(mut self, token: impl std::fmt::Display) -> Self {
        self.inner = self.inner.bearer_auth(token);
        self
    }

    /// A header.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.inner = self.inner.header(name.as_ref(), value.as_ref());
        self
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Self {
        self.inner = self.inner.body(body);
        self
    }

    /// A JSON body.
    pub fn json(mut self, body: &impl serde::Serialize) -> Self {
        self.inner = self.inner.json(body);
        self
    }

    /// Sends the request and checks the answer against the contract, failing the test
    /// when the document does not describe it.
    pub async fn send(self) -> Result<CheckedResponse, reqwest::Error> {
        let response = self.inner.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?.to_vec();
        let contract = self.client.contract().await;
        if let Err(problem) = contract.check(&self.method, &self.path, status.as_u16(), &headers, &bytes) {
            panic!("the API contract is broken: {problem}");
        }
        Ok(CheckedResponse {
            status,
            headers,
            bytes,
        })
    }
}

/// An answer already checked against the contract.
pub struct CheckedResponse {
    status: reqwest::StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl CheckedResponse {
    /// The status.
    pub fn status(&self) -> reqwest::StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body as JSON.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.bytes)
    }

    /// The body as text.
    pub async fn text(self) -> Result<String, std::string::FromUtf8Error> {
        String::from_utf8(self.bytes)
    }

    /// The body.
    pub async fn bytes(self) -> Result<Vec<u8>, std::convert::Infallible> {
        Ok(self.bytes)
    }
}
