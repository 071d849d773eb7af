//! Section references and refusals over HTTP, on real licence texts: the Apache License, the
//! Mozilla Public License and the NumPy licence file that bundles the GNU GPL version 3, as
//! `just setup` installs them into .cache/legal-corpus (see tests/data/legal_dev/corpus.json).
//!
//! A cited section is found by the documents' structure ("section 4 of the Apache License"
//! although the text never writes "section 4"), a passage that only refers to it is not it,
//! a question about a licence or version the collection lacks is refused by name, and numbers,
//! quotations and capitals in a question are never a reason to refuse.

use reqwest::StatusCode;
use serde_json::{Value, json};

mod common;

use common::{TestServer, expect_json};

/// The documents of the development corpus these tests ingest.
const DOCUMENTS: [&str; 4] = [
    "apache-2.0-sentence-transformers",
    "mpl-2.0-pathspec",
    "numpy-bundled",
    "psf-typing-extensions",
];

async fn answer(server: &TestServer, question: &str) -> Value {
    let body = json!({"question": question, "mode": "evidence", "collections": ["licences"]});
    expect_json(server.post("/v1/answer", &body).await, StatusCode::OK).await
}

fn first_source(answer: &Value) -> &Value {
    &answer["sources"][0]
}

/// `text` with runs of whitespace as one space.
fn folded(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn cited_sections_are_found_by_structure_and_lead_the_sources() {
    let server = TestServer::with_licences("licences", &DOCUMENTS).await;
    for (question, heading) in [
        (
            "What does section 4 of the Apache License say?",
            "4. Redistribution.",
        ),
        (
            "What does MPL 2.0 section 3.2 require?",
            "3.2. Distribution of Executable Form",
        ),
        (
            "What does GPLv3 §6 say about object code?",
            "6. Conveying Non-Source Forms.",
        ),
        // The definitions refer to "Sections 1 through 9"; section 9 is another passage.
        (
            "What does section 9 of the Apache License say?",
            "9. Accepting Warranty or Additional Liability.",
        ),
    ] {
        let answered = answer(&server, question).await;
        assert_eq!(answered["saknas_underlag"], false, "{question}: {answered}");
        let source = first_source(&answered);
        let snippet = folded(source["snippet"].as_str().unwrap());
        assert!(
            snippet.contains(heading) || source["path"].as_str().unwrap().contains(heading),
            "{question}: the first source is {source}"
        );
        assert_eq!(answered["evidence_level"], "high", "{question}: {answered}");
    }
    // Without a cited section there is no structural evidence: never `high`.
    let answered = answer(
        &server,
        "Does the Apache License let me use the Licensor's trademarks?",
    )
    .await;
    assert_eq!(answered["saknas_underlag"], false, "{answered}");
    assert_eq!(answered["evidence_level"], "low", "{answered}");
}

#[tokio::test]
async fn what_the_collection_lacks_is_refused_by_name() {
    let server = TestServer::with_licences("licences", &DOCUMENTS).await;
    for (question, missing) in [
        (
            "What does the Eclipse Public License say about patents?",
            "Eclipse Public License",
        ),
        (
            "What does GPL version 4 say about patents?",
            "GPL version 4",
        ),
        (
            "Under the Mozilla Public License 1.1, what must the Initial Developer do?",
            "Mozilla Public License 1.1",
        ),
        (
            "What does the MIT License say about warranty?",
            "MIT License",
        ),
        (
            "What does section 99 of the Apache License say?",
            "section 99",
        ),
    ] {
        let refused = answer(&server, question).await;
        assert_eq!(refused["saknas_underlag"], true, "{question}: {refused}");
        assert!(refused["sources"].as_array().unwrap().is_empty());
        assert_eq!(refused["evidence_level"], "none");
        let reason = refused["refusal_reason"].as_str().unwrap();
        assert!(reason.contains(missing), "{question}: {reason}");
    }
}

#[tokio::test]
async fn numbers_quotations_and_capitals_are_no_reason_to_refuse() {
    let server = TestServer::with_licences("licences", &DOCUMENTS).await;
    for question in [
        // An amount, a count and a year the question supplies.
        "May I charge 500 euros for support when I redistribute a work under the Apache License?",
        "Does a company with 250 employees that conveys GPLv3 object code in a product have to provide Installation Information?",
        "The GNU GPL of 29 June 2007: can I charge a price for each copy I convey?",
        // The licence's own heading quoted, with its date.
        "The Apache License, \"Version 2.0, January 2004\": may I charge a fee for warranty support?",
        // A disclaimer quoted in capitals.
        "The GPL says \"THERE IS NO WARRANTY FOR THE PROGRAM, TO THE EXTENT PERMITTED BY APPLICABLE LAW.\" Does the disclaimer cover fitness for a particular purpose?",
        "What does this part of the Apache License mean: WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, EITHER EXPRESS OR IMPLIED?",
        // Letters in another case than the text's.
        "what does SECTION 4 of the apache license say about modified files?",
    ] {
        let answered = answer(&server, question).await;
        assert_eq!(
            answered["saknas_underlag"], false,
            "{question}: refused because {}",
            answered["refusal_reason"]
        );
    }
}

#[tokio::test]
async fn a_named_licence_leads_the_sources_without_a_cited_section() {
    let server = TestServer::with_licences("licences", &DOCUMENTS).await;
    // Termination clauses of the MPL and the Apache License read alike; the question names
    // the GPL, which the collection holds inside numpy's bundled licences.
    let answered = answer(
        &server,
        "I violated the GPL version 3 but stopped. Do I get my licence back?",
    )
    .await;
    assert_eq!(answered["saknas_underlag"], false, "{answered}");
    let source = first_source(&answered);
    assert!(
        source["title"].as_str().unwrap().starts_with("NumPy")
            && source["path"].as_str().unwrap().contains("Termination"),
        "the first source is {source}"
    );
}
