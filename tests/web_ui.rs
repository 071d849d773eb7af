//! The built-in web page in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `just test-peers`) driven over WebDriver against the real
//! server. One session creates a collection and uploads two real licence texts of the
//! development corpus (hard-wrapped, numbered sections) through the page, with a broken PDF
//! and a dropped Word file each refused beside its name; asks an evidence question, opens a
//! quote in its document and checks the highlighted characters are the quote, asks a
//! follow-up, sees a refusal for a licence the collection lacks, lists the documents under
//! Manage and opens one, in Swedish and at 375 px. Another, with keys required, sees the 401
//! view, enters a key, and cancels an answer of the local model with Esc while it streams.
//! No console error, axe-core (npm, installed by `just test-peers`) finds no serious or
//! critical violation, and every step leaves a screenshot.

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

/// A question the local model answers at length in assist mode.
const ASSIST_QUESTION: &str =
    "Explain in detail every condition for redistributing the Work under the Apache License.";

/// The axe-core version `just test-peers` installs (the justfile names it too).
const AXE_CORE_VERSION: &str = "4.14.1";

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
async fn files_uploaded_through_the_page_answer_a_question_with_its_quote_highlighted() {
    let shots = Screenshots::new();
    let server = TestServer::start().await;
    let driver = ChromeDriver::start();
    let browser = driver.session().await;

    browser.goto(&server.url("/")).await.expect("open the page");
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#collection-list p"))
        .await
        .expect("the page says there are no collections yet");
    assert_eq!(text_of(&browser, "#ask").await, "Ask");
    shots.take(&browser, "01-loaded").await;
    driver
        .assert_no_console_errors(&browser, "loading", &[])
        .await;

    // A collection created and filled through the page: two licence texts and a broken PDF.
    click(&browser, "#tab-manage").await;
    browser
        .find(Locator::Css("#new-collection-name"))
        .await
        .unwrap()
        .send_keys("licences")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#new-collection-language"))
        .await
        .unwrap()
        .select_by_value("english")
        .await
        .unwrap();
    click(&browser, "#create-collection button[type=submit]").await;
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#document-collection option[value=licences]"))
        .await
        .expect("the new collection can be chosen for documents");
    let files = tempfile::tempdir().expect("a folder for the files");
    let mut paths = Vec::new();
    for id in DOCUMENTS {
        let (title, text) = common::licence(id);
        let path = files.path().join(format!("{title}.txt"));
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    let broken = files.path().join("scanned.pdf");
    std::fs::write(&broken, b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages").unwrap();
    paths.push(broken);
    let chosen: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    browser
        .find(Locator::Css("#upload-files"))
        .await
        .unwrap()
        .send_keys(&chosen.join("\n"))
        .await
        .unwrap();
    let waiting = browser
        .find_all(Locator::Css("#upload-results li.is-waiting"))
        .await
        .unwrap();
    assert_eq!(waiting.len(), 3, "each chosen file is listed");
    click(&browser, "#upload").await;
    browser
        .wait()
        .at_most(ANSWER_WAIT)
        .for_element(Locator::XPath(
            "//p[@id='upload-status'][normalize-space()!='']",
        ))
        .await
        .expect("the upload finishes");
    for (n, state) in [(1, "is-stored"), (2, "is-stored"), (3, "is-failed")] {
        let item = format!("#upload-results li:nth-child({n})");
        let class = browser
            .find(Locator::Css(&item))
            .await
            .unwrap()
            .attr("class")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(
            class.contains(state),
            "{item}: {class}: {}",
            text_of(&browser, &item).await
        );
    }
    let rejected = text_of(&browser, "#upload-results li:nth-child(3) .file-status").await;
    assert!(
        rejected.starts_with("422 unparseable_file: scanned.pdf: PDF could not be read"),
        "the broken file's own problem is shown beside it: {rejected}"
    );
    let progress: Value = browser
        .execute(
            "const bar = document.getElementById('upload-progress');
             return [bar.value, bar.max, bar.hidden];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(progress[0], progress[1], "the progress bar reached the end");
    assert!(progress[1].as_f64().unwrap() > 1000.0, "{progress}");
    assert_eq!(progress[2], true, "the progress bar is put away");
    driver
        .assert_accessible(&browser, "the manage view with upload results")
        .await;
    shots.take(&browser, "02-uploaded").await;

    // A file dropped on the drop zone is listed and sent the same way; a Word file is refused.
    browser
        .execute(
            "const files = new DataTransfer();
             files.items.add(new File(['PK word'], 'draft.docx'));
             document.getElementById('drop-zone')
               .dispatchEvent(new DragEvent('drop', { dataTransfer: files, bubbles: true }));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        text_of(&browser, "#upload-results li.is-waiting .file-name").await,
        "draft.docx"
    );
    click(&browser, "#upload").await;
    let refused = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#upload-results li.is-failed .file-status"))
        .await
        .expect("the dropped file's result")
        .text()
        .await
        .unwrap();
    assert!(
        refused.starts_with("415 unsupported_format: draft.docx"),
        "{refused}"
    );
    click(&browser, "#tab-ask").await;
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#collection-licences"))
        .await
        .expect("the collection is listed to search");

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
    let Ok(quote_link) = browser
        .find(Locator::Css(&format!("{first} .answer a.quote-link")))
        .await
    else {
        panic!("no quote link: {}", turn_text(&browser, 1).await);
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
    shots.take(&browser, "03-answer").await;

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
    shots.take(&browser, "04-quote-highlighted").await;

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
    shots.take(&browser, "05-follow-up").await;

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
    driver
        .assert_accessible(&browser, "an answer, its highlighted source and a refusal")
        .await;
    shots.take(&browser, "06-refusal").await;

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
    shots.take(&browser, "07-documents").await;
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
    assert_fits_375_px(&browser, "the ask view").await;
    shots.take(&browser, "08-swedish-375px").await;
    click(&browser, "#tab-manage").await;
    assert_fits_375_px(&browser, "the manage view").await;
    driver
        .assert_accessible(&browser, "the manage view at 375 px")
        .await;
    shots.take(&browser, "09-manage-375px").await;

    driver
        .assert_no_console_errors(&browser, "the session", &[])
        .await;
    browser.close().await.expect("close the browser");
    server.stop().await;
}

#[tokio::test]
async fn with_keys_the_page_asks_for_one_and_cancels_a_generation() {
    let shots = Screenshots::new();
    let mut config = common::test_config();
    config.generation.backend = constitutional_rag::config::Backend::Local;
    config.generation.deterministic = true;
    config.sampling.assist.max_tokens = 2000;
    let server = TestServer::with_licences_in(config, "licences", &DOCUMENTS).await;
    // The first key turns authentication on.
    let created = server
        .post("/v1/keys", &json!({"name": "web", "role": "admin"}))
        .await;
    let key = expect_json(created, StatusCode::CREATED).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let driver = ChromeDriver::start();
    let browser = driver.session().await;

    // Without a key the page says so plainly and opens the key field.
    browser.goto(&server.url("/")).await.expect("open the page");
    let banner = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#auth-banner:not([hidden])"))
        .await
        .expect("the 401 view");
    let said = banner.text().await.unwrap();
    assert!(
        said.contains("401") && said.contains("API key"),
        "the 401 is shown plainly: {said}"
    );
    let key_box_open = browser
        .find(Locator::Css("#key-box"))
        .await
        .unwrap()
        .prop("open")
        .await
        .unwrap();
    assert_eq!(key_box_open.as_deref(), Some("true"));
    shots.take(&browser, "auth-01-401").await;

    // With the key entered (Enter saves it) the collections load.
    browser
        .find(Locator::Css("#api-key"))
        .await
        .unwrap()
        .send_keys(&format!("{key}{}", fantoccini::key::Key::Enter))
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#collection-licences"))
        .await
        .expect("the key opens the collections");
    assert!(
        !browser
            .find(Locator::Css("#auth-banner"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "the 401 view is gone"
    );
    shots.take(&browser, "auth-02-key-accepted").await;
    driver
        .assert_accessible(&browser, "the ask view after entering a key")
        .await;

    // A written answer from the local model, cancelled with Esc once it streams.
    browser
        .find(Locator::Css("#mode"))
        .await
        .unwrap()
        .select_by_value("assist")
        .await
        .unwrap();
    click(&browser, "#collection-licences").await;
    ask(&browser, ASSIST_QUESTION).await;
    let streaming = browser
        .wait()
        .at_most(ANSWER_WAIT)
        .for_element(Locator::XPath(
            "//ol[@id='conversation']/li[1]//div[@class='answer'][normalize-space()!='']",
        ))
        .await;
    assert!(
        streaming.is_ok(),
        "no streamed text: {}",
        turn_text(&browser, 1).await
    );
    browser
        .active_element()
        .await
        .unwrap()
        .send_keys(&fantoccini::key::Key::Escape.to_string())
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#conversation > li:nth-child(1).is-cancelled"))
        .await
        .expect("the turn shows it was cancelled");
    shots.take(&browser, "auth-03-cancelled").await;

    // The server stopped: the generation left, and no assist answer was ever finished.
    let mut in_flight = f64::NAN;
    for _ in 0..200 {
        let metrics = server.get("/metrics").await.text().await.unwrap();
        in_flight = metric(&metrics, "crag_generations_in_flight").unwrap_or(f64::NAN);
        if in_flight == 0.0 {
            assert_eq!(
                metric(
                    &metrics,
                    "crag_answers_total{mode=\"assist\",outcome=\"answered\"}"
                ),
                None,
                "the cancelled answer was not finished"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(in_flight, 0.0, "the generation stopped within 20 s");
    driver
        .assert_no_console_errors(&browser, "the session", &["status of 401"])
        .await;
    browser.close().await.expect("close the browser");
    server.stop().await;
}

/// Asserts nothing on the page is wider than the 375 px window; names what sticks out.
async fn assert_fits_375_px(browser: &Client, what: &str) {
    let too_wide = browser
        .execute(
            "if (document.documentElement.scrollWidth <= window.innerWidth) return [];
             return [...document.querySelectorAll('body *')]
               .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
               .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)
               .slice(0, 10);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        too_wide,
        json!([]),
        "nothing in {what} is wider than a 375 px screen"
    );
}

/// The value of the sample `name` (with its labels, if any) in Prometheus text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .find_map(|value| value.trim().parse().ok())
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

    /// Reads (and clears) the browser's console log; fails on any error in it but those
    /// containing one of `expected` (the browser logs every 401 the page is answered).
    async fn assert_no_console_errors(&self, browser: &Client, during: &str, expected: &[&str]) {
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
            .filter(|entry| {
                let message = entry["message"].as_str().unwrap_or_default();
                !expected.iter().any(|text| message.contains(text))
            })
            .collect();
        assert!(
            errors.is_empty(),
            "console errors during {during}: {errors:#?}"
        );
    }

    /// Runs axe-core (the version `just test-peers` installs) on the page as it is now and
    /// fails on any serious or critical violation.
    async fn assert_accessible(&self, browser: &Client, what: &str) {
        let axe = axe_core_script();
        browser.execute(&axe, vec![]).await.expect("axe-core loads");
        let report = browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document)
                   .then((result) => done({
                     passed: result.passes.length,
                     minor: result.violations
                       .filter((v) => v.impact !== 'serious' && v.impact !== 'critical')
                       .map((v) => v.id),
                     serious: result.violations
                       .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                       .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map((n) => n.target.join(' ')) })),
                   }))
                   .catch((error) => done({ serious: [{ id: 'axe-failed', help: String(error) }] }));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        eprintln!(
            "web_ui: axe-core {AXE_CORE_VERSION} on {what}: {} rules passed, moderate or minor: {}",
            report["passed"], report["minor"]
        );
        assert_eq!(
            report["serious"],
            json!([]),
            "axe-core: serious or critical violations in {what}"
        );
        assert!(report["passed"].as_u64().unwrap() > 10, "{report}");
    }
}

/// axe-core's script, from where `just test-peers` installs it (outside the clone).
fn axe_core_script() -> String {
    let home = std::env::var_os("HOME").expect("HOME is set");
    let path = Path::new(&home).join(format!(
        ".cache/constitutional-rag/axe-core-{AXE_CORE_VERSION}/node_modules/axe-core/axe.min.js"
    ));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `just test-peers`, which installs axe-core with npm",
            path.display()
        )
    })
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
