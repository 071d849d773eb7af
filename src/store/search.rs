//! Full-text (BM25) search over one collection's chunks.

use serde_json::{Value, json};

use super::{Store, rows};
use crate::error::AppResult;
use crate::model::{Language, SearchHit};

/// Equality filters on document metadata: every `(key, value)` must match; an array value
/// matches any of its elements. Keys and values are always bound, never spliced into SQL.
#[derive(Debug, Clone, Default)]
pub struct MetadataFilter {
    conditions: Vec<(String, Value)>,
}

impl MetadataFilter {
    /// A filter from already validated `(key, value)` pairs.
    pub fn new(conditions: Vec<(String, Value)>) -> Self {
        Self { conditions }
    }

    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// A SurrealQL condition (starting with ` AND`) on the object field `field`; the keys and
    /// values it refers to are added to `vars`.
    pub(super) fn condition(&self, field: &str, vars: &mut Value) -> String {
        let mut sql = String::new();
        for (i, (key, wanted)) in self.conditions.iter().enumerate() {
            let op = if wanted.is_array() { "IN" } else { "=" };
            sql.push_str(&format!(
                " AND {field}[$filter_key_{i}] {op} $filter_value_{i}"
            ));
            vars[format!("filter_key_{i}")] = Value::String(key.clone());
            vars[format!("filter_value_{i}")] = wanted.clone();
        }
        sql
    }
}

/// A BM25 query against one collection.
#[derive(Debug, Clone)]
pub struct Bm25Query<'a> {
    /// Collection to search.
    pub collection: &'a str,
    /// Its analyzer language.
    pub language: Language,
    /// Query text; terms are OR-ed.
    pub text: &'a str,
    /// Most hits to return.
    pub limit: u32,
    /// Metadata filter on the chunks' documents.
    pub filter: &'a MetadataFilter,
}

impl Store {
    /// The best `limit` chunks for `query.text` by BM25, best first; titles filled in.
    pub async fn bm25(&self, query: &Bm25Query<'_>) -> AppResult<Vec<SearchHit>> {
        let mut vars = json!({
            "collection": query.collection,
            "q": query.text,
            "limit": query.limit,
        });
        // The matching documents are resolved once, not per candidate chunk.
        let (documents_let, documents_filter) = if query.filter.is_empty() {
            (String::new(), "")
        } else {
            let condition = query.filter.condition("metadata", &mut vars);
            (
                format!(
                    "LET $documents = (SELECT VALUE record::id(id) FROM document \
                       WHERE collection = $collection{condition}); "
                ),
                " AND document IN $documents",
            )
        };
        let field = query.language.search_field();
        let sql = format!(
            "{documents_let}SELECT record::id(id) AS chunk_id, document AS document_id, collection, path, position, \
               char_start, char_end, text, search::score(1) AS score \
             FROM chunk WHERE collection = $collection AND {field} @1,OR@ $q{documents_filter} \
             ORDER BY score DESC LIMIT $limit;"
        );
        let mut response = self.query(&sql, vars).await?;
        let last = response.num_statements() - 1;
        let mut hits: Vec<SearchHit> = rows(&mut response, last)?;
        self.fill_titles(&mut hits).await?;
        Ok(hits)
    }

    /// Sets each hit's document title with one query.
    async fn fill_titles(&self, hits: &mut [SearchHit]) -> AppResult<()> {
        if hits.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = hits.iter().map(|h| h.document_id.as_str()).collect();
        let mut response = self
            .query(
                "SELECT record::id(id) AS id, title FROM array::map($ids, |$i| type::record('document', $i));",
                json!({ "ids": ids }),
            )
            .await?;
        let titles: Vec<Value> = rows(&mut response, 0)?;
        let by_id: std::collections::HashMap<&str, &str> = titles
            .iter()
            .filter_map(|t| Some((t["id"].as_str()?, t["title"].as_str()?)))
            .collect();
        for hit in hits {
            if let Some(title) = by_id.get(hit.document_id.as_str()) {
                hit.title = (*title).to_string();
            }
        }
        Ok(())
    }
}
