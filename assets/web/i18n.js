// The page's text in English and Swedish. Elements carry `data-i18n` (their text),
// `data-i18n-placeholder` or `data-i18n-aria-label`; `apply` fills them in.

const MESSAGES = {
  en: {
    title: "Ask the law",
    tagline: "Answers grounded in your documents, every quote checked against its source.",
    language: "Language",
    tab_ask: "Ask",
    tab_manage: "Manage",
    api_key: "API key",
    api_key_hint: "Kept for this browser tab only, sent as a Bearer token.",
    save: "Save",
    forget: "Forget",
    key_saved: "API key saved for this tab.",
    key_forgotten: "API key forgotten.",
    question: "Question",
    question_placeholder: "e.g. What must I give other recipients when I redistribute the Work?",
    question_hint: "Enter asks, Shift+Enter starts a new line, Esc cancels.",
    mode: "Mode",
    mode_auto: "Automatic",
    mode_evidence: "Evidence (quotes only)",
    mode_assist: "Assist (written answer)",
    mode_chat: "Chat (no sources)",
    collections: "Collections to search",
    collections_hint: "None ticked: the server chooses.",
    no_collections: "No collections yet. Create one under Manage.",
    ask: "Ask",
    cancel: "Cancel",
    new_conversation: "New conversation",
    conversation: "Conversation",
    you_asked: "You asked",
    working: "Working…",
    stage_done: "{stage}: {ms} ms",
    progress: "Progress",
    answer: "Answer",
    sources: "Sources",
    no_sources: "No sources.",
    quotes: "Quotes",
    relevance: "relevance",
    dense: "dense",
    bm25: "BM25",
    rerank: "rerank",
    tier: "tier",
    evidence_level: "Evidence level",
    level_high: "high",
    level_low: "low",
    level_none: "none",
    mode_used: "Mode",
    removed_citations: "Removed citations (not backed by any source)",
    none: "none",
    corrections: "Term corrections",
    unsupported: "Sentences removed as unsupported",
    supported_share: "Share of sentences supported by their sources",
    refusal_title: "No answer from the sources",
    refusal_reason: "Why",
    cancelled: "Cancelled. The server stopped working on it.",
    failed: "The answer failed",
    copy: "Copy answer with citations",
    copied: "Copied.",
    copy_failed: "Could not copy: the browser refused access to the clipboard.",
    open_source: "Open source {n}",
    open_quote: "Open the quote in its document",
    viewer: "Source document",
    close: "Close",
    loading: "Loading…",
    quoted_passage: "Highlighted: the quoted passage.",
    cited_passage: "Highlighted: the cited passage.",
    auth_401: "Authentication needed ({status}): {detail} Enter an API key at the top of the page.",
    auth_403: "Not allowed ({status}): {detail}",
    manage_collections: "Collections",
    name: "Name",
    description: "Description",
    documents_count: "Documents",
    chunks_count: "Chunks",
    create: "Create",
    create_collection: "Create a collection",
    delete: "Delete",
    open: "Open",
    confirm: "Confirm",
    confirm_delete_collection: "Delete the collection “{name}” and every document in it? This cannot be undone.",
    confirm_delete_document: "Delete the document “{name}”? This cannot be undone.",
    deleted: "Deleted.",
    created: "Created.",
    manage_documents: "Documents",
    collection: "Collection",
    filter: "Metadata filter (JSON)",
    filter_placeholder: "{\"year\": 1974}",
    apply: "Apply",
    document_title: "Title",
    updated: "Updated",
    characters: "Characters",
    previous: "Previous",
    next: "Next",
    page_of: "Page {page} of {pages} ({total} documents)",
    english: "English",
    swedish: "Swedish",
    actions: "Actions",
    error: "Error",
    document_id: "id",
    upload_files: "Upload files",
    upload_hint: "Into the collection chosen above: drop files here or choose them (txt, md, html, json, jsonl, pdf). Each file is stored whole or not at all.",
    upload_choose: "Files",
    upload: "Upload",
    upload_progress: "Upload progress",
    upload_results: "Files to upload and their results",
    upload_waiting: "ready to upload",
    upload_sending: "sending…",
    upload_stored: "stored: {count} document(s), {outcomes}",
    upload_done: "{stored} file(s) stored, {failed} rejected.",
    upload_no_collection: "Create or choose a collection first.",
    outcome_created: "created",
    outcome_updated: "updated",
    outcome_unchanged: "unchanged",
  },
  sv: {
    title: "Fråga lagen",
    tagline: "Svar grundade i dina dokument, varje citat kontrollerat mot sin källa.",
    language: "Språk",
    tab_ask: "Fråga",
    tab_manage: "Hantera",
    api_key: "API-nyckel",
    api_key_hint: "Sparas bara för den här fliken och skickas som Bearer-token.",
    save: "Spara",
    forget: "Glöm",
    key_saved: "API-nyckeln är sparad för den här fliken.",
    key_forgotten: "API-nyckeln är glömd.",
    question: "Fråga",
    question_placeholder: "t.ex. Vad säger 2 kap. 1 § regeringsformen om yttrandefrihet?",
    question_hint: "Enter frågar, Skift+Enter ger ny rad, Esc avbryter.",
    mode: "Läge",
    mode_auto: "Automatiskt",
    mode_evidence: "Belägg (endast citat)",
    mode_assist: "Assistent (skrivet svar)",
    mode_chat: "Samtal (utan källor)",
    collections: "Samlingar att söka i",
    collections_hint: "Ingen vald: servern väljer.",
    no_collections: "Inga samlingar ännu. Skapa en under Hantera.",
    ask: "Fråga",
    cancel: "Avbryt",
    new_conversation: "Nytt samtal",
    conversation: "Samtal",
    you_asked: "Du frågade",
    working: "Arbetar…",
    stage_done: "{stage}: {ms} ms",
    progress: "Förlopp",
    answer: "Svar",
    sources: "Källor",
    no_sources: "Inga källor.",
    quotes: "Citat",
    relevance: "relevans",
    dense: "vektor",
    bm25: "BM25",
    rerank: "omrankning",
    tier: "nivå",
    evidence_level: "Beläggsnivå",
    level_high: "hög",
    level_low: "låg",
    level_none: "ingen",
    mode_used: "Läge",
    removed_citations: "Borttagna hänvisningar (saknar källa)",
    none: "inga",
    corrections: "Termrättelser",
    unsupported: "Meningar borttagna som ostödda",
    supported_share: "Andel meningar som stöds av sina källor",
    refusal_title: "Källorna ger inget svar",
    refusal_reason: "Varför",
    cancelled: "Avbrutet. Servern slutade arbeta på svaret.",
    failed: "Svaret misslyckades",
    copy: "Kopiera svaret med hänvisningar",
    copied: "Kopierat.",
    copy_failed: "Kunde inte kopiera: webbläsaren nekade åtkomst till urklipp.",
    open_source: "Öppna källa {n}",
    open_quote: "Öppna citatet i sitt dokument",
    viewer: "Källdokument",
    close: "Stäng",
    loading: "Laddar…",
    quoted_passage: "Markerat: det citerade stället.",
    cited_passage: "Markerat: det åberopade stället.",
    auth_401: "Inloggning krävs ({status}): {detail} Ange en API-nyckel överst på sidan.",
    auth_403: "Inte tillåtet ({status}): {detail}",
    manage_collections: "Samlingar",
    name: "Namn",
    description: "Beskrivning",
    documents_count: "Dokument",
    chunks_count: "Avsnitt",
    create: "Skapa",
    create_collection: "Skapa en samling",
    delete: "Ta bort",
    open: "Öppna",
    confirm: "Bekräfta",
    confirm_delete_collection: "Ta bort samlingen ”{name}” och alla dess dokument? Det går inte att ångra.",
    confirm_delete_document: "Ta bort dokumentet ”{name}”? Det går inte att ångra.",
    deleted: "Borttaget.",
    created: "Skapad.",
    manage_documents: "Dokument",
    collection: "Samling",
    filter: "Metadatafilter (JSON)",
    filter_placeholder: "{\"year\": 1974}",
    apply: "Använd",
    document_title: "Titel",
    updated: "Ändrad",
    characters: "Tecken",
    previous: "Föregående",
    next: "Nästa",
    page_of: "Sida {page} av {pages} ({total} dokument)",
    english: "Engelska",
    swedish: "Svenska",
    actions: "Åtgärder",
    error: "Fel",
    document_id: "id",
    upload_files: "Ladda upp filer",
    upload_hint: "Till samlingen som är vald ovan: släpp filer här eller välj dem (txt, md, html, json, jsonl, pdf). Varje fil sparas hel eller inte alls.",
    upload_choose: "Filer",
    upload: "Ladda upp",
    upload_progress: "Uppladdningens förlopp",
    upload_results: "Filer att ladda upp och deras resultat",
    upload_waiting: "klar att laddas upp",
    upload_sending: "skickas…",
    upload_stored: "sparad: {count} dokument, {outcomes}",
    upload_done: "{stored} fil(er) sparade, {failed} avvisade.",
    upload_no_collection: "Skapa eller välj en samling först.",
    outcome_created: "nytt",
    outcome_updated: "ersatt",
    outcome_unchanged: "oförändrat",
  },
};

/** Languages the page speaks. */
export const LANGUAGES = Object.keys(MESSAGES);

let current = initialLanguage();
const listeners = [];

/** The language chosen before in this browser, else Swedish when the browser's is Swedish. */
function initialLanguage() {
  const saved = localStorage.getItem("crag-language");
  if (saved && MESSAGES[saved]) return saved;
  return /^sv\b/i.test(navigator.language || "") ? "sv" : "en";
}

/** The current language code. */
export function language() {
  return current;
}

/** Switches language, remembers it and re-renders every translated element. */
export function setLanguage(code) {
  if (!MESSAGES[code]) return;
  current = code;
  localStorage.setItem("crag-language", code);
  apply(document);
  for (const listener of listeners) listener(code);
}

/** Calls `listener` after every language switch. */
export function onLanguageChange(listener) {
  listeners.push(listener);
}

/** The message `key` with `{name}` placeholders filled from `values`. */
export function t(key, values = {}) {
  const template = MESSAGES[current][key] ?? MESSAGES.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    name in values ? String(values[name]) : whole,
  );
}

/** Fills in every translated element under `root`. */
export function apply(root) {
  document.documentElement.lang = current;
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-placeholder]")) {
    element.placeholder = t(element.dataset.i18nPlaceholder);
  }
  for (const element of root.querySelectorAll("[data-i18n-aria-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nAriaLabel));
  }
}
