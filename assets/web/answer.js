// One turn of the conversation: the question, the pipeline's progress, the answer as it
// streams in, and when it is done the answer with every `[n]` and every quote linked to its
// source, the sources beside it, and what the checks found. All text goes in as text nodes.

import { t } from "/web/i18n.js";
import { openSource } from "/web/viewer.js";

/** `tag` with `className`, its text and children. */
function make(tag, className, text, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  node.append(...children);
  return node;
}

/** `tag` whose text is the message `key`, kept in the current language. */
function label(tag, key, className) {
  const node = make(tag, className, t(key));
  node.dataset.i18n = key;
  return node;
}

/** A link that runs `action` (by mouse or keyboard) instead of navigating. */
function actionLink(className, text, action) {
  const link = make("a", className, text);
  link.href = "#";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    action();
  });
  return link;
}

/** UTF-16 index of each character offset of `text` (the API counts Unicode scalar values). */
function utf16Offsets(text) {
  const offsets = [0];
  for (const character of text) offsets.push(offsets[offsets.length - 1] + character.length);
  return offsets;
}

/** Formats a score for the sources list. */
function score(value) {
  return Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(3);
}

/** The view of one question and its answer. */
export class TurnView {
  constructor(question) {
    this.text = "";
    this.sources = [];
    this.root = make("li", "turn");
    const asked = make("p", "asked", null, label("span", "you_asked", "label"), " ", make("q", null, question));
    this.status = make("p", "status", t("working"));
    this.status.setAttribute("role", "status");
    this.stages = make("ol", "stages");
    this.progress = make("details", "progress", null, label("summary", "progress"), this.stages);
    this.progress.open = true;
    this.refusal = make("div", "refusal");
    this.refusal.hidden = true;
    this.refusal.setAttribute("role", "alert");
    this.answer = make("div", "answer");
    this.answer.setAttribute("aria-live", "polite");
    this.facts = make("dl", "facts");
    this.copyStatus = make("span", "copy-status");
    this.copyStatus.setAttribute("role", "status");
    this.copy = label("button", "copy", "copy");
    this.copy.type = "button";
    this.copy.hidden = true;
    this.copy.addEventListener("click", () => this.copyAnswer());
    this.sourceList = make("ol", "source-list");
    const column = make("div", "answer-column", null, this.status, this.progress, this.refusal,
      this.answer, this.facts, make("p", "copy-row", null, this.copy, " ", this.copyStatus));
    const aside = make("aside", "sources", null, label("h3", "sources"), this.sourceList);
    this.root.append(asked, make("div", "turn-body", null, column, aside));
  }

  /** Applies one event of the answer stream. */
  onEvent(name, data) {
    switch (name) {
      case "metadata":
        this.showSources(data.sources);
        break;
      case "decontextualized":
        this.stage(`${data.original} → ${data.question}`);
        break;
      case "thought_chain":
        this.stage(`${data.stage}: ${data.message}`);
        break;
      case "grading":
        this.stage(`crag ${data.round}: ${data.gradings.filter((g) => g.relevant).length}/${data.gradings.length}`);
        break;
      case "timing":
        this.stage(t("stage_done", { stage: data.stage, ms: data.ms.toFixed(1) }));
        break;
      case "token":
        this.text += data.text;
        this.answer.textContent = this.text;
        break;
      case "corrections":
        this.text = data.answer;
        this.answer.textContent = this.text;
        break;
      case "refusal":
        this.showRefusal(data.reason, data.answer);
        break;
      case "done":
        this.finish(data);
        break;
      case "error":
        this.fail(`${data.status} ${data.code}: ${data.detail}`);
        break;
      default:
        break;
    }
  }

  stage(text) {
    this.stages.append(make("li", null, text));
    this.status.textContent = text;
  }

  /** The answer stream closed at the user's request. */
  cancelled() {
    this.status.textContent = t("cancelled");
    this.root.classList.add("is-cancelled");
  }

  /** The answer failed: `message` says why. */
  fail(message) {
    this.status.textContent = `${t("failed")}: ${message}`;
    this.root.classList.add("is-failed");
  }

  showRefusal(reason, text) {
    this.refusal.replaceChildren(
      label("h3", "refusal_title"),
      make("p", "refusal-reason", null, label("strong", "refusal_reason"), ": ", make("span", null, reason || "")),
      make("p", "refusal-text", text || ""),
    );
    this.refusal.hidden = false;
    this.answer.hidden = true;
    this.root.classList.add("is-refusal");
  }

  showSources(sources) {
    this.sources = sources;
    if (!sources.length) {
      this.sourceList.replaceChildren(label("li", "no_sources", "empty"));
      return;
    }
    this.sourceList.replaceChildren(
      ...sources.map((source) => {
        const s = source.scores;
        const scores = [
          `${t("relevance")} ${score(s.relevance)}`,
          s.dense != null && `${t("dense")} ${score(s.dense)}`,
          s.bm25 != null && `${t("bm25")} ${score(s.bm25)}`,
          s.rerank != null && `${t("rerank")} ${score(s.rerank)}`,
          `${t("tier")} ${source.tier}`,
        ].filter(Boolean);
        const item = make("li", "source", null,
          actionLink("source-link", `[${source.index}] ${source.title}`, () => openSource(source)),
          make("div", "source-meta", [source.collection, source.path].filter(Boolean).join(" · ")),
          make("div", "scores", scores.join(" · ")));
        item.id = `source-${source.index}`;
        return item;
      }),
    );
  }

  /** The whole answer: links, sources and the checks' findings. */
  finish(answer) {
    this.final = answer;
    this.status.textContent = "";
    this.progress.open = false;
    this.showSources(answer.sources);
    if (answer.saknas_underlag) {
      this.showRefusal(answer.refusal_reason, answer.answer);
    } else {
      this.renderAnswer(answer);
      this.copy.hidden = false;
    }
    this.renderFacts(answer);
  }

  renderAnswer(answer) {
    const text = answer.answer;
    const offsets = utf16Offsets(text);
    const byIndex = new Map(answer.sources.map((source) => [source.index, source]));
    const ranges = [];
    let cursor = 0;
    for (const quote of answer.quotes || []) {
      const at = text.indexOf(quote.text, cursor);
      const source = byIndex.get(quote.source);
      if (at < 0 || !source) continue;
      ranges.push({ start: at, end: at + quote.text.length, quote, source });
      cursor = at + quote.text.length;
    }
    for (const citation of answer.citations || []) {
      const source = byIndex.get(citation.source);
      if (!source || citation.end >= offsets.length) continue;
      ranges.push({ start: offsets[citation.start], end: offsets[citation.end], source });
    }
    ranges.sort((a, b) => a.start - b.start);
    const nodes = [];
    let at = 0;
    for (const range of ranges) {
      if (range.start < at) continue;
      nodes.push(text.slice(at, range.start));
      const shown = text.slice(range.start, range.end);
      const link = range.quote
        ? actionLink("quote-link", shown, () => openSource(range.source, range.quote))
        : actionLink("cite-link", shown, () => openSource(range.source));
      link.title = range.quote ? t("open_quote") : t("open_source", { n: range.source.index });
      nodes.push(link);
      at = range.end;
    }
    nodes.push(text.slice(at));
    this.answer.replaceChildren(...nodes);
    this.answer.hidden = false;
  }

  renderFacts(answer) {
    const removed = answer.removed_citations.map((n) => `[${n}]`).join(" ");
    const facts = [
      ["mode_used", make("dd", null, answer.mode)],
      ["evidence_level", label("dd", `level_${answer.evidence_level}`,
        `level level-${answer.evidence_level}`)],
      ["removed_citations", removed ? make("dd", null, removed) : label("dd", "none")],
    ];
    if (answer.corrections.length) {
      const text = answer.corrections.map((c) => `${c.from} → ${c.to}`).join("; ");
      facts.push(["corrections", make("dd", null, text)]);
    }
    if (answer.supported_share != null) {
      facts.push(["supported_share", make("dd", null, `${Math.round(answer.supported_share * 100)} %`)]);
    }
    if (answer.unsupported_sentences?.length) {
      const text = answer.unsupported_sentences.map((s) => `${s.text} (${s.reason})`).join(" ");
      facts.push(["unsupported", make("dd", null, text)]);
    }
    this.facts.replaceChildren(...facts.flatMap(([key, value]) => [label("dt", key), value]));
  }

  /** The answer and its numbered sources as plain text. */
  plainText() {
    const answer = this.final;
    const lines = answer.sources.map(
      (s) => `[${s.index}] ${s.title}${s.path ? `, ${s.path}` : ""} (${s.collection})`,
    );
    return `${answer.answer}\n\n${t("sources")}:\n${lines.join("\n")}\n`;
  }

  async copyAnswer() {
    try {
      await navigator.clipboard.writeText(this.plainText());
      this.copyStatus.textContent = t("copied");
    } catch {
      this.copyStatus.textContent = t("copy_failed");
    }
  }
}
