//! The guardrails over arbitrary text: the question and answer safety checks, the built-in
//! constitution (whose result must be a fixed point) and the citation check (whose result
//! must be stable and whose spans must lie inside its text). Never a panic.

#![no_main]

use constitutional_rag::guard::citations;
use constitutional_rag::guard::constitution::Constitution;
use constitutional_rag::guard::safety::{SafetyLimits, check_answer, check_question};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static CONSTITUTION: LazyLock<Constitution> = LazyLock::new(Constitution::builtin);

fuzz_target!(|input: &[u8]| {
    let Some((&sources, bytes)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let _ = check_question(text, &SafetyLimits::default());
    let _ = check_answer(text);

    let (corrected, _) = CONSTITUTION.apply(text);
    let (again, corrections) = CONSTITUTION.apply(&corrected);
    assert_eq!(
        again, corrected,
        "the constitution's result is not a fixed point"
    );
    assert!(corrections.is_empty());

    let checked = citations::check(text, usize::from(sources % 16));
    let length = checked.text.chars().count();
    for span in &checked.citations {
        assert!(
            span.start < span.end && span.end as usize <= length,
            "span outside text"
        );
    }
    let rechecked = citations::check(&checked.text, usize::from(sources % 16));
    assert_eq!(rechecked.text, checked.text, "citation check is not stable");
    assert!(rechecked.removed.is_empty());
    // Arbitrary text as a rule file: rejected or loaded, never a panic.
    if let Ok(custom) = Constitution::from_toml(text) {
        let _ = custom.apply(text);
    }
});
