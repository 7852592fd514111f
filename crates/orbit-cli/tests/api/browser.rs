//! A headless Chromium driven through chromedriver (WebDriver), for the console's
//! browser tests. Debian's `chromium` and `chromium-driver` are expected; `.ci/run`
//! installs them. Without them a test is skipped with the reason, except under CI,
//! where it fails: a browser test never passes by not running.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

/// chromedriver, unless `ORBIT_CHROMEDRIVER` names another.
fn driver_path() -> PathBuf {
    std::env::var_os("ORBIT_CHROMEDRIVER")
        .map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from)
}

/// Chromium, unless `ORBIT_CHROMIUM` names another.
fn browser_path() -> PathBuf {
    std::env::var_os("ORBIT_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// A browser session, its chromedriver, and where its screenshots go.
pub struct Browser {
    pub client: Client,
    driver: Child,
    shots: PathBuf,
    name: String,
}

impl Browser {
    /// A fresh headless browser for test `name`; `None` (the test skipped, with the
    /// reason printed) when Chromium or chromedriver is missing outside CI.
    pub async fn start(name: &str) -> Option<Self> {
        let (driver, browser) = (driver_path(), browser_path());
        if !driver.exists() || !browser.exists() {
            let reason = format!(
                "browser test {name} skipped: {} or {} is missing (apt-get install chromium chromium-driver)",
                browser.display(),
                driver.display()
            );
            assert!(std::env::var_os("CI").is_none(), "{reason}; CI must run it");
            eprintln!("{reason}");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": browser.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1440,900", "--lang=zh-CN"]
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut last_error = None;
        // chromedriver takes a moment to listen.
        for _ in 0..100 {
            match ClientBuilder::new(connector.clone())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => {
                    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
                    std::fs::create_dir_all(&shots).expect("screenshot folder");
                    return Some(Self {
                        client,
                        driver,
                        shots,
                        name: name.to_owned(),
                    });
                }
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer: {last_error:?}");
    }

    /// Opens a URL.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("page opened");
    }

    /// The element with `data-testid` equal to `id`, waited for.
    pub async fn by_test_id(&self, id: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(&format!("[data-testid=\"{id}\"]")))
            .await
            .unwrap_or_else(|e| panic!("no element [data-testid={id}]: {e}"))
    }

    /// Clicks the element `test_id`, again while it is still moving into place (a
    /// dropdown opening, the canvas fitting a new node in); a screenshot when it never
    /// takes the click.
    pub async fn click(&self, test_id: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match self.by_test_id(test_id).await.click().await {
                Ok(_) => return,
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    self.screenshot(&format!("failed-{test_id}")).await;
                    panic!("{test_id} clicked: {e}");
                }
            }
        }
    }

    /// Replaces an input's text as a person does: select all, then type. (WebDriver's
    /// own clear bypasses the events React listens to.)
    pub async fn type_into(&self, test_id: &str, text: &str) {
        use fantoccini::key::Key;
        let select_all = format!("{}a{}{}", Key::Control, Key::Null, Key::Backspace);
        let input = self.by_test_id(test_id).await;
        input.send_keys(&select_all).await.expect("cleared");
        input.send_keys(text).await.expect("typed");
    }

    /// Opens the select `test_id` and picks its option `value` (rendered with the test
    /// id `{test_id}-option-{value}`).
    pub async fn pick(&self, test_id: &str, value: &str) {
        self.click(test_id).await;
        self.click(&format!("{test_id}-option-{value}")).await;
    }

    /// Whether an element with `data-testid` equal to `id` is on the page now.
    pub async fn has_test_id(&self, id: &str) -> bool {
        self.client
            .find(Locator::Css(&format!("[data-testid=\"{id}\"]")))
            .await
            .is_ok()
    }

    /// Waits until the page's visible text contains `text`; the text.
    pub async fn wait_for_text(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let body = self.text().await;
            if body.contains(text) {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the page never showed {text:?}; it shows:\n{body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Saves a screenshot as `<test>-<step>.png` among the test artifacts.
    pub async fn screenshot(&self, step: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{}-{step}.png", self.name));
        std::fs::write(&path, png).expect("screenshot written");
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
