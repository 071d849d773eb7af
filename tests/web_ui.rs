//! The built-in web page in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `just test-peers`) driven over WebDriver against the real
//! server, seeded with two real licence texts of the development corpus (hard-wrapped,
//! numbered sections). It asks an evidence question, opens a quote in its document and checks
//! the highlighted characters are the quote, asks a follow-up, and sees a refusal for a
//! licence the collection lacks, lists the documents under Manage and opens one — with no
//! console error, and a screenshot of every step.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{TestServer, content_type, expect_json};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Documents of the development corpus the page is tested on.
const DOCUMENTS: [&str; 2] = ["apache-2.0-sentence-transformers", "bsd-3-clause-click"];

/// An evidence question whose answer quotes a clause hard-wrapped in the Apache License.
const QUESTION: &str = "What must You give any other recipients of the Work or Derivative Works?";

/// A follow-up that only makes sense after [`QUESTION`].
const FOLLOW_UP: &str = "And what must I do with modified files?";

/// A question about a licence the collection does not hold.
const UNANSWERABLE: &str = "What does the MIT License say about warranties?";

/// Longest wait for an answer in the browser.
const ANSWER_WAIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn the_page_and_its_files_are_served_with_a_strict_policy() {
    let server = TestServer::start().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/web/app.js", "text/javascript"),
        ("/web/style.css", "text/css"),
    ] {
        let response = server.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(content_type(&response).starts_with(kind), "{path}");
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    let missing = server.get("/web/nothing.js").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&missing).starts_with("application/problem+json"));
    // Swagger UI and the spec are where they were.
    assert_eq!(server.get("/docs").await.status(), StatusCode::OK);
    expect_json(server.get("/openapi.json").await, StatusCode::OK).await;
    server.stop().await;
}

#[tokio::test]
async fn a_question_is_answered_and_its_quote_highlighted_in_a_real_browser() {
    let shots = Screenshots::new();
    let server = TestServer::with_licences("licences", &DOCUMENTS).await;
    let driver = ChromeDriver::start();
    let browser = driver.session().await;

    browser.goto(&server.url("/")).await.expect("open the page");
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#collection-licences"))
        .await
        .expect("the collections are listed");
    assert_eq!(text_of(&browser, "#ask").await, "Ask");
    shots.take(&browser, "01-loaded").await;
    driver.assert_no_console_errors(&browser, "loading").await;

    // An evidence question over the seeded collection.
    browser
        .find(Locator::Css("#mode"))
        .await
        .unwrap()
        .select_by_value("evidence")
        .await
        .unwrap();
    click(&browser, "#collection-licences").await;
    ask(&browser, QUESTION).await;
    let first = "#conversation > li:nth-child(1)";
    wait_until_finished(&browser, 1).await;
    let quote_link = match browser
        .find(Locator::Css(&format!("{first} .answer a.quote-link")))
        .await
    {
        Ok(link) => link,
        Err(_) => panic!("no quote link: {}", turn_text(&browser, 1).await),
    };
    let shown_quote = quote_link.text().await.unwrap();
    let sources = browser
        .find_all(Locator::Css(&format!("{first} .source-list li.source")))
        .await
        .unwrap();
    assert!(!sources.is_empty(), "sources are listed beside the answer");
    assert!(
        text_of(&browser, &format!("{first} .facts"))
            .await
            .contains("Evidence level"),
        "the evidence level is shown"
    );
    shots.take(&browser, "02-answer").await;

    // The first quote is the API's first quote of the same answer.
    let answer = expect_json(
        server
            .post(
                "/v1/answer",
                &json!({"question": QUESTION, "mode": "evidence", "collections": ["licences"]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let quote = &answer["quotes"][0];
    assert_eq!(shown_quote, quote["text"].as_str().unwrap(), "{answer}");

    // Opening it shows the document with exactly the quoted characters marked.
    quote_link.click().await.unwrap();
    let mark = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#viewer-text mark"))
        .await
        .expect("the quote is highlighted in its document");
    let marked = mark.text().await.unwrap();
    assert_eq!(
        one_line(&marked),
        shown_quote,
        "the marked characters are the quote (up to its line wraps)"
    );
    let visible: bool = browser
        .execute(
            "const m = document.querySelector('#viewer-text mark').getBoundingClientRect();
             const v = document.getElementById('viewer-text').getBoundingClientRect();
             return m.top >= v.top && m.bottom <= v.bottom;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(visible, "the highlight is scrolled into view");
    // The question and its answer beside the highlighted source, for the screenshot.
    browser
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView();",
            vec![json!(first)],
        )
        .await
        .unwrap();
    shots.take(&browser, "03-quote-highlighted").await;

    // A follow-up carries the conversation and is answered too.
    ask(&browser, FOLLOW_UP).await;
    let second = "#conversation > li:nth-child(2)";
    wait_until_finished(&browser, 2).await;
    let follow_up = turn_text(&browser, 2).await;
    assert!(
        browser
            .find(Locator::Css(&format!("{second} .answer a.quote-link")))
            .await
            .is_ok(),
        "the follow-up is answered with quotes: {follow_up}"
    );
    shots.take(&browser, "04-follow-up").await;

    // A licence the collection lacks is refused, saying why.
    click(&browser, "#new-conversation").await;
    ask(&browser, UNANSWERABLE).await;
    wait_until_finished(&browser, 1).await;
    let refusal = browser
        .find(Locator::Css(&format!("{first} .refusal")))
        .await
        .expect("a refusal view");
    assert!(refusal.is_displayed().await.unwrap());
    let reason = text_of(&browser, &format!("{first} .refusal-reason")).await;
    assert!(
        reason.contains("MIT License"),
        "the refusal says why: {reason}"
    );
    shots.take(&browser, "05-refusal").await;

    // The collection's documents are listed under Manage and open in the viewer.
    click(&browser, "#tab-manage").await;
    let rows = browser
        .find_all(Locator::Css("#document-rows tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), DOCUMENTS.len(), "one row a document");
    let title = rows[0]
        .find(Locator::Css("th"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    rows[0]
        .find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "//h2[@id='viewer-title'][normalize-space()='{title}']"
        )))
        .await
        .expect("the listed document opens in the viewer");
    shots.take(&browser, "06-documents").await;
    click(&browser, "#tab-ask").await;

    // Swedish on request, and usable at 375 px.
    browser
        .find(Locator::Css("#language"))
        .await
        .unwrap()
        .select_by_value("sv")
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "#ask").await, "Fråga");
    browser.set_window_size(375, 812).await.unwrap();
    let overflow: bool = browser
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(!overflow, "nothing is wider than a 375 px screen");
    shots.take(&browser, "07-swedish-375px").await;

    driver
        .assert_no_console_errors(&browser, "the session")
        .await;
    browser.close().await.expect("close the browser");
    server.stop().await;
}

/// Types `question` and presses Enter.
async fn ask(browser: &Client, question: &str) {
    let input = browser.find(Locator::Css("#question")).await.unwrap();
    input.clear().await.unwrap();
    input
        .send_keys(&format!("{question}{}", fantoccini::key::Key::Enter))
        .await
        .unwrap();
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// The whole text of turn `n` (from 1), for failure messages.
async fn turn_text(browser: &Client, n: usize) -> String {
    let css = format!("#conversation > li:nth-child({n})");
    match browser.find(Locator::Css(&css)).await {
        Ok(turn) => turn.text().await.unwrap_or_default(),
        Err(_) => "(no such turn)".into(),
    }
}

/// Waits until turn `n` shows its finished answer or refusal; panics on a failed or
/// unfinished one.
async fn wait_until_finished(browser: &Client, n: usize) {
    let css = format!(
        "#conversation > li:nth-child({n}) .copy:not([hidden]), \
         #conversation > li:nth-child({n}).is-refusal, \
         #conversation > li:nth-child({n}).is-failed"
    );
    let waited = browser
        .wait()
        .at_most(ANSWER_WAIT)
        .for_element(Locator::Css(&css))
        .await;
    let text = turn_text(browser, n).await;
    assert!(waited.is_ok(), "turn {n} did not finish: {text}");
    let failed = browser
        .find(Locator::Css(&format!(
            "#conversation > li:nth-child({n}).is-failed"
        )))
        .await
        .is_ok();
    assert!(!failed, "turn {n} failed: {text}");
}

/// `text` with its line breaks and runs of spaces as single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `name` on the PATH, or a failure that says how to install it.
fn required_program(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not on the PATH: run `just test-peers`, which installs Debian's \
                 chromium and chromium-driver"
            )
        })
}

/// A chromedriver on a free loopback port, killed when dropped.
struct ChromeDriver {
    url: String,
    process: Child,
    chromium: PathBuf,
    http: reqwest::Client,
}

impl ChromeDriver {
    fn start() -> Self {
        let binary = required_program("chromedriver");
        let chromium = required_program("chromium");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let process = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        ChromeDriver {
            url: format!("http://127.0.0.1:{port}"),
            process,
            chromium,
            http: reqwest::Client::new(),
        }
    }

    /// A headless Chromium session in English with the browser's console log kept.
    async fn session(&self) -> Client {
        for _ in 0..100 {
            if let Ok(response) = self.http.get(format!("{}/status", self.url)).send().await
                && response.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=en-US",
                ],
                "prefs": {"intl.accept_languages": "en-US"},
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }

    /// Reads (and clears) the browser's console log; fails on any error in it.
    async fn assert_no_console_errors(&self, browser: &Client, during: &str) {
        let session = browser.session_id().await.unwrap().expect("a session");
        let log: Value = self
            .http
            .post(format!("{}/session/{session}/se/log", self.url))
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .expect("the browser log")
            .json()
            .await
            .expect("the log is JSON");
        let entries = log["value"].as_array().expect("log entries");
        let errors: Vec<&Value> = entries
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .collect();
        assert!(
            errors.is_empty(),
            "console errors during {during}: {errors:#?}"
        );
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Screenshots of each step under the test's output folder.
struct Screenshots {
    dir: PathBuf,
}

impl Screenshots {
    fn new() -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web_ui");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        eprintln!("web_ui: screenshots in {}", dir.display());
        Screenshots { dir }
    }

    async fn take(&self, browser: &Client, step: &str) {
        let png = browser.screenshot().await.expect("a screenshot");
        std::fs::write(self.dir.join(format!("{step}.png")), png).expect("save the screenshot");
    }
}
