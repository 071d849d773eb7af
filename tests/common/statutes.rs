//! A statute-style corpus the answer tests write into a fresh server: a Swedish
//! constitutional text in `sfs`, an English data-protection act in `statutes` and a
//! procedural guide in `guides`.

use reqwest::StatusCode;
use serde_json::json;

use super::TestServer;

/// Excerpt in the style of Regeringsformen (SFS 1974:152).
pub const REGERINGSFORMEN: &str = "\
1 kap. Statsskickets grunder

1 § All offentlig makt i Sverige utgår från folket. Den svenska folkstyrelsen bygger på fri åsiktsbildning och på allmän och lika rösträtt.

2 § Den offentliga makten ska utövas med respekt för alla människors lika värde och för den enskilda människans frihet och värdighet.

2 kap. Grundläggande fri- och rättigheter

1 § Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet: frihet att i tal, skrift eller bild eller på annat sätt meddela upplysningar samt uttrycka tankar, åsikter och känslor. Var och en är också tillförsäkrad informationsfrihet: frihet att inhämta och ta emot upplysningar.

2 § Var och en är gentemot det allmänna skyddad mot tvång att ge till känna sin åskådning i politiskt, religiöst, kulturellt eller annat sådant hänseende.

3 § Ingen svensk medborgare får utan samtycke registreras i ett allmänt register enbart på grund av sin politiska åskådning.

4 kap. Riksdagsarbetet

1 § Riksdagen sammanträder till riksmöte varje år. Konstitutionsutskottet granskar statsrådens tjänsteutövning.
";

/// Excerpt of a fictional English data protection act.
pub const DATA_PROTECTION_ACT: &str = "\
Section 1 Purpose

The purpose of this Act is to protect individuals against the violation of their personal integrity by the processing of personal data.

Section 4 Consent

Personal data may be processed only if the data subject has given consent to the processing. Consent must be freely given, specific, informed and unambiguous, and it may be withdrawn at any time.

Section 5 Penalties

A controller who processes personal data in breach of this Act shall pay an administrative fine of at most 200000 euros.
";

/// A procedural guide.
pub const APPEALS_GUIDE: &str = "\
How to appeal a decision

You can appeal a decision of a public authority by writing to the authority that made the decision. The appeal must reach the authority within three weeks of the day you received the decision. State which decision you appeal and how you want it changed.
";

/// Creates the collections and writes the corpus, asserting success.
pub async fn load(server: &TestServer) {
    server.create_collection("sfs", "swedish").await;
    server.create_collection("statutes", "english").await;
    server.create_collection("guides", "english").await;
    for (collection, title, text) in [
        ("sfs", "Regeringsformen (1974:152)", REGERINGSFORMEN),
        ("statutes", "Data Protection Act", DATA_PROTECTION_ACT),
        ("guides", "Appeals guide", APPEALS_GUIDE),
    ] {
        let (status, body) = server
            .upsert(collection, &json!({"text": text, "title": title}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}
