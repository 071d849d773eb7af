//! Retrieval for an answer: hybrid search of the routed primary and support collections,
//! both tiers concurrently (and within a tier every collection concurrently).

use super::routing::Route;
use crate::error::AppResult;
use crate::model::SearchHit;
use crate::service::{Library, SearchMode, SearchRequest};

/// Which tier of the routing a candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The intent's primary collections.
    Primary,
    /// Supporting collections.
    Support,
}

impl Tier {
    /// `primary` or `support`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Primary => "primary",
            Tier::Support => "support",
        }
    }
}

/// A retrieved chunk and the tier it came from.
#[derive(Debug, Clone)]
pub struct Retrieved {
    /// The hit with its per-signal scores.
    pub hit: SearchHit,
    /// Routing tier.
    pub tier: Tier,
}

/// Hybrid search for `query` over `route`'s tiers, each cut to its budget.
pub async fn retrieve(library: &Library, query: &str, route: &Route) -> AppResult<Vec<Retrieved>> {
    let (primary, support) = tokio::try_join!(
        search_tier(
            library,
            query,
            &route.primary,
            route.primary_budget,
            Tier::Primary
        ),
        search_tier(
            library,
            query,
            &route.support,
            route.support_budget,
            Tier::Support
        ),
    )?;
    Ok(primary.into_iter().chain(support).collect())
}

/// The best `budget` hits of one tier's `collections`.
async fn search_tier(
    library: &Library,
    query: &str,
    collections: &[String],
    budget: usize,
    tier: Tier,
) -> AppResult<Vec<Retrieved>> {
    if collections.is_empty() || budget == 0 {
        return Ok(Vec::new());
    }
    let request = SearchRequest {
        query: query.to_string(),
        collections: collections.to_vec(),
        mode: Some(SearchMode::Hybrid),
        limit: Some((budget as u32).clamp(1, library.config().search.max_limit)),
        filter: None,
        rerank: false,
    };
    let (_, hits) = library.search(&request).await?;
    Ok(hits
        .into_iter()
        .map(|hit| Retrieved { hit, tier })
        .collect())
}
