//! Operators: the people who log in to the console, their roles, passwords (argon2id)
//! and sessions, and the throttling of failed logins (ADR 0017).
//!
//! A session is a random token in an HttpOnly cookie, stored only as its digest under
//! the server secret, like keys; its CSRF token is derived from it, so it needs no
//! storage of its own and cannot be guessed without the cookie. Sessions run on the
//! wall clock even when the product's clock is simulated: moving a demo a week ahead
//! must not log its operator out.

mod throttle;

use std::sync::{Arc, Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use jiff::{SignedDuration, Timestamp};
use orbit_core::{Clock, ErrorCode, Problem, SystemClock, WorkspaceId};
pub use orbit_store::Role;
use orbit_store::{OperatorRecord, OperatorStore, SessionRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::keys::KeyHasher;
use crate::EngineError;
pub use throttle::LoginThrottle;

/// Shortest password accepted.
const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (hashing cost grows with length).
const MAX_PASSWORD_CHARS: usize = 256;
/// Longest login.
const MAX_LOGIN_CHARS: usize = 254;
/// Activity is recorded at most this often per session.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session with no request for this long has ended.
    pub idle: SignedDuration,
    /// A session ends this long after login, however active.
    pub lifetime: SignedDuration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: SignedDuration::from_hours(8),
            lifetime: SignedDuration::from_hours(24),
        }
    }
}

/// A new operator (`POST /v1/operators`, `orbit admin create-user`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOperator {
    /// What they log in with: an email address or a name, unique on the server.
    #[schema(example = "mei@brand.cn")]
    pub login: String,
    /// A name for people (default: the login).
    #[serde(default)]
    pub name: Option<String>,
    /// `admin`, `marketer`, `analyst` or `viewer`.
    #[schema(example = "marketer")]
    pub role: String,
    /// At least 10 characters.
    pub password: String,
}

/// A change to an operator (`PATCH /v1/operators/{id}`); what is left out stays.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorChange {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new role.
    #[serde(default)]
    pub role: Option<String>,
    /// A new password: every session of theirs ends.
    #[serde(default)]
    pub password: Option<String>,
    /// Disables (they cannot log in; their sessions end) or enables them.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// An operator as the API shows them: never the password hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorView {
    /// Their id.
    pub id: String,
    /// What they log in with.
    pub login: String,
    /// Their name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Whether they are disabled.
    pub disabled: bool,
    /// When they were made.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl From<&OperatorRecord> for OperatorView {
    fn from(record: &OperatorRecord) -> Self {
        Self {
            id: record.id.clone(),
            login: record.login.clone(),
            name: record.name.clone(),
            role: record.role,
            disabled: record.disabled_at_ms.is_some(),
            created_at: millis(record.created_at_ms),
            updated_at: millis(record.updated_at_ms),
        }
    }
}

/// A workspace's operators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorList {
    /// Oldest first.
    pub data: Vec<OperatorView>,
}

/// A login (`POST /v1/session`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The operator's login.
    #[schema(example = "mei@brand.cn")]
    pub login: String,
    /// Their password.
    pub password: String,
}

/// The session a request runs in (`GET /v1/session`, and the answer to a login).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    /// Who is logged in.
    pub operator: OperatorView,
    /// Their workspace.
    pub workspace_id: WorkspaceId,
    /// Sent back as the `X-CSRF-Token` header on every request that changes something.
    pub csrf_token: String,
    /// When the session ends at the latest.
    pub expires_at: Timestamp,
    /// Seconds without a request after which it ends.
    pub idle_timeout_seconds: i64,
}

/// A session just opened: the token goes into the cookie, never into a body.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// The session token.
    pub token: String,
    /// What the answer shows.
    pub view: SessionView,
}

/// An operator acting through a live session.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// The operator.
    pub operator: OperatorRecord,
    /// The session.
    pub session: SessionRecord,
}

/// Why a login was refused.
#[derive(Debug)]
pub enum LoginRefused {
    /// Wrong login or password, or a disabled operator (the answer does not say
    /// which); the workspace of the operator the login names, for the audit log.
    BadCredentials(Option<WorkspaceId>),
    /// Too many failures: try again after this long.
    Throttled(SignedDuration),
    /// Something else failed.
    Failed(EngineError),
}

impl From<EngineError> for LoginRefused {
    fn from(error: EngineError) -> Self {
        Self::Failed(error)
    }
}

/// Console operators and their sessions.
pub struct Operators {
    store: Arc<dyn OperatorStore>,
    hasher: KeyHasher,
    policy: SessionPolicy,
    throttle: Mutex<LoginThrottle>,
    clock: SystemClock,
}

impl std::fmt::Debug for Operators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operators").finish_non_exhaustive()
    }
}

impl Operators {
    /// Operators over their store; session tokens are hashed with the server secret.
    pub fn new(store: Arc<dyn OperatorStore>, hasher: KeyHasher, policy: SessionPolicy) -> Self {
        Self {
            store,
            hasher,
            policy,
            throttle: Mutex::new(LoginThrottle::default()),
            clock: SystemClock,
        }
    }

    /// Adds an operator.
    ///
    /// # Errors
    /// `invalid_request` naming `login`, `role` or `password`; `already_exists` when
    /// the login is taken.
    pub async fn create(
        &self,
        workspace: &WorkspaceId,
        new: NewOperator,
    ) -> Result<OperatorView, EngineError> {
        let login = checked_login(&new.login)?;
        let role = checked_role(&new.role, "role")?;
        checked_password(&new.password, &login, "password")?;
        let now = self.clock.now().as_millisecond();
        let record = OperatorRecord {
            id: format!("op_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
            workspace_id: workspace.clone(),
            name: checked_name(new.name.as_deref(), &login)?,
            login,
            role,
            password_hash: hash_password(new.password).await?,
            created_at_ms: now,
            updated_at_ms: now,
            disabled_at_ms: None,
        };
        self.store.create_operator(&record).await.map_err(|e| match e {
            orbit_store::StoreError::AlreadyExists(_) => Problem::at(
                ErrorCode::AlreadyExists,
                "login",
                "an operator with this login exists already",
            )
            .into(),
            other => EngineError::from(other),
        })?;
        Ok(OperatorView::from(&record))
    }

    /// A workspace's operators.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list(&self, workspace: &WorkspaceId) -> Result<OperatorList, EngineError> {
        let records = self.store.list_operators(workspace).await?;
        Ok(OperatorList {
            data: records.iter().map(OperatorView::from).collect(),
        })
    }

    /// One operator.
    ///
    /// # Errors
    /// `not_found`.
    pub async fn get(&self, workspace: &WorkspaceId, id: &str) -> Result<OperatorView, EngineError> {
        let record = self
            .store
            .operator(workspace, id)
            .await?
            .ok_or_else(|| Problem::not_found("operator"))?;
        Ok(OperatorView::from(&record))
    }

    /// Changes an operator. A workspace always keeps one enabled admin: the last one
    /// cannot be demoted or disabled.
    ///
    /// # Errors
    /// `not_found`; `invalid_request` naming the field; `invalid_state` for the last
    /// admin.
    pub async fn update(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        change: OperatorChange,
    ) -> Result<OperatorView, EngineError> {
        let mut record = self
            .store
            .operator(workspace, id)
            .await?
            .ok_or_else(|| Problem::not_found("operator"))?;
        let was_admin = record.role == Role::Admin && record.disabled_at_ms.is_none();
        let now = self.clock.now().as_millisecond();
        let mut end_sessions = false;
        if let Some(name) = change.name.as_deref() {
            record.name = checked_name(Some(name), &record.login)?;
        }
        if let Some(role) = change.role.as_deref() {
            record.role = checked_role(role, "role")?;
        }
        match change.disabled {
            Some(true) if record.disabled_at_ms.is_none() => {
                record.disabled_at_ms = Some(now);
                end_sessions = true;
            }
            Some(false) => record.disabled_at_ms = None,
            _ => {}
        }
        let still_admin = record.role == Role::Admin && record.disabled_at_ms.is_none();
        if was_admin && !still_admin {
            let others = self
                .store
                .list_operators(workspace)
                .await?
                .into_iter()
                .filter(|o| o.id != record.id && o.role == Role::Admin && o.disabled_at_ms.is_none())
                .count();
            if others == 0 {
                let field = if change.disabled == Some(true) {
                    "disabled"
                } else {
                    "role"
                };
                return Err(Problem::at(
                    ErrorCode::InvalidState,
                    field,
                    "this is the workspace's last admin; make another operator admin first",
                )
                .into());
            }
        }
        if let Some(password) = change.password {
            checked_password(&password, &record.login, "password")?;
            record.password_hash = hash_password(password).await?;
            end_sessions = true;
        }
        record.updated_at_ms = now;
        self.store.update_operator(&record).await?;
        if end_sessions {
            self.store.end_sessions_of(workspace, &record.id).await?;
        }
        Ok(OperatorView::from(&record))
    }

    /// Whether the server has any operator yet.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn any(&self) -> Result<bool, EngineError> {
        Ok(self.store.count_operators().await? > 0)
    }

    /// Checks a login and opens a session. Failures are throttled per account and per
    /// address; an unknown login costs the same time as a wrong password.
    ///
    /// # Errors
    /// [`LoginRefused`].
    pub async fn login(&self, login: Login, address: Option<&str>) -> Result<OpenedSession, LoginRefused> {
        let now = self.clock.now();
        let typed = login.login.trim().to_lowercase();
        if let Some(wait) = self.throttle().wait(&typed, address, now) {
            return Err(LoginRefused::Throttled(wait));
        }
        let record = self
            .store
            .operator_by_login(&typed)
            .await
            .map_err(EngineError::from)?;
        let hash = record
            .as_ref()
            .map_or_else(|| decoy_hash().to_owned(), |r| r.password_hash.clone());
        let matches = verify_password(login.password, hash).await?;
        let record = match record {
            Some(record) if matches && record.disabled_at_ms.is_none() => record,
            other => {
                self.throttle().failed(&typed, address, now);
                return Err(LoginRefused::BadCredentials(other.map(|r| r.workspace_id)));
            }
        };
        self.throttle().succeeded(&typed);
        let token = format!(
            "os_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let session = SessionRecord {
            digest: self.hasher.digest(&token),
            operator_id: record.id.clone(),
            workspace_id: record.workspace_id.clone(),
            created_at_ms: now.as_millisecond(),
            last_seen_ms: now.as_millisecond(),
            expires_at_ms: (now + self.policy.lifetime).as_millisecond(),
            address: address.map(str::to_owned),
        };
        self.store
            .create_session(&session)
            .await
            .map_err(EngineError::from)?;
        let view = self.view(&token, &record, &session);
        Ok(OpenedSession { token, view })
    }

    /// The live session of a token: not expired, not idle too long, its operator
    /// enabled. Records the activity.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn session(&self, token: &str) -> Result<Option<ActiveSession>, EngineError> {
        let digest = self.hasher.digest(token);
        let Some(mut session) = self.store.session(&digest).await? else {
            return Ok(None);
        };
        let now = self.clock.now().as_millisecond();
        let idle_until = session
            .last_seen_ms
            .saturating_add(self.policy.idle.as_millis() as i64);
        if now >= session.expires_at_ms || now >= idle_until {
            self.store.end_session(&digest).await?;
            return Ok(None);
        }
        let Some(operator) = self
            .store
            .operator(&session.workspace_id, &session.operator_id)
            .await?
            .filter(|o| o.disabled_at_ms.is_none())
        else {
            self.store.end_session(&digest).await?;
            return Ok(None);
        };
        if now - session.last_seen_ms >= TOUCH_EVERY.as_millis() as i64 {
            self.store.touch_session(&digest, now).await?;
            session.last_seen_ms = now;
        }
        Ok(Some(ActiveSession { operator, session }))
    }

    /// What `GET /v1/session` shows of a live session.
    pub fn describe(&self, token: &str, active: &ActiveSession) -> SessionView {
        self.view(token, &active.operator, &active.session)
    }

    /// Whether `presented` is the CSRF token of the session `token`.
    pub fn csrf_matches(&self, token: &str, presented: &str) -> bool {
        let expected = self.csrf_token(token);
        // Both are hex digests of one length: compare without an early exit.
        expected.len() == presented.len()
            && expected
                .bytes()
                .zip(presented.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// Ends a session (logout); whether it was live.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn logout(&self, token: &str) -> Result<bool, EngineError> {
        Ok(self.store.end_session(&self.hasher.digest(token)).await?)
    }

    /// Deletes ended sessions.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn prune_sessions(&self) -> Result<u64, EngineError> {
        let now = self.clock.now();
        Ok(self
            .store
            .prune_sessions(now.as_millisecond(), (now - self.policy.idle).as_millisecond())
            .await?)
    }

    fn csrf_token(&self, token: &str) -> String {
        self.hasher.digest(&format!("csrf\u{0}{token}"))
    }

    fn view(&self, token: &str, operator: &OperatorRecord, session: &SessionRecord) -> SessionView {
        SessionView {
            operator: OperatorView::from(operator),
            workspace_id: session.workspace_id.clone(),
            csrf_token: self.csrf_token(token),
            expires_at: millis(session.expires_at_ms),
            idle_timeout_seconds: self.policy.idle.as_secs(),
        }
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, LoginThrottle> {
        self.throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn checked_login(raw: &str) -> Result<String, Problem> {
    let login = raw.trim().to_lowercase();
    if login.is_empty() {
        return Err(Problem::at(
            ErrorCode::MissingField,
            "login",
            "give a login (an email address or a name)",
        ));
    }
    if login.chars().count() > MAX_LOGIN_CHARS {
        return Err(Problem::at(
            ErrorCode::TooLong,
            "login",
            format!("at most {MAX_LOGIN_CHARS} characters"),
        ));
    }
    if login.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Problem::invalid(
            "login",
            "a login has no spaces or control characters",
        ));
    }
    Ok(login)
}

fn checked_name(raw: Option<&str>, login: &str) -> Result<String, Problem> {
    let name = raw.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(login);
    if name.chars().count() > 200 {
        return Err(Problem::at(ErrorCode::TooLong, "name", "at most 200 characters"));
    }
    Ok(name.to_owned())
}

fn checked_role(raw: &str, field: &str) -> Result<Role, Problem> {
    Role::parse(raw.trim()).ok_or_else(|| {
        Problem::invalid(
            field,
            format!("{raw:?} is not a role: use admin, marketer, analyst or viewer"),
        )
    })
}

fn checked_password(password: &str, login: &str, field: &str) -> Result<(), Problem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Problem::invalid(
            field,
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(Problem::at(
            ErrorCode::TooLong,
            field,
            format!("at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    if password.trim().to_lowercase() == login {
        return Err(Problem::invalid(field, "the password must differ from the login"));
    }
    Ok(())
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes), off the
/// async threads.
async fn hash_password(password: String) -> Result<String, EngineError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| EngineError::Start(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| EngineError::Start(format!("hashing a password: {e}")))?
}

/// Whether a password matches a stored hash, off the async threads.
async fn verify_password(password: String, hash: String) -> Result<bool, EngineError> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            tracing::error!("an operator's password hash is unreadable");
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| EngineError::Start(format!("checking a password: {e}")))
}

/// A hash no password matches, checked for unknown logins so that they take as long
/// as wrong passwords.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Argon2::default()
            .hash_password(random.as_bytes())
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_lower_case_without_spaces_and_passwords_long_enough() {
        assert_eq!(checked_login(" Mei@Brand.cn ").as_deref(), Ok("mei@brand.cn"));
        assert_eq!(
            checked_login("").map_err(|p| p.field),
            Err(Some("login".to_owned()))
        );
        assert!(checked_login("mei wang").is_err());
        assert!(checked_password("short", "mei", "password").is_err());
        assert!(checked_password("mei@brand.cn", "mei@brand.cn", "password").is_err());
        assert!(checked_password("茶饮品牌的运营密码很长", "mei", "password").is_ok());
        assert_eq!(checked_role("analyst", "role"), Ok(Role::Analyst));
        assert!(checked_role("root", "role").is_err());
    }

    #[tokio::test]
    async fn a_hashed_password_verifies_and_another_does_not() {
        let hash = hash_password("correct horse battery".to_owned())
            .await
            .expect("hashed");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(
            verify_password("correct horse battery".to_owned(), hash.clone())
                .await
                .expect("checked")
        );
        assert!(
            !verify_password("correct horse battery!".to_owned(), hash)
                .await
                .expect("checked")
        );
        assert!(
            !verify_password("anything".to_owned(), decoy_hash().to_owned())
                .await
                .expect("checked")
        );
    }
}
