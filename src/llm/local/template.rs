//! Rendering a conversation into the model's prompt with its Jinja chat template, or with
//! ChatML when the model ships none.
//!
//! The template is compiled once, when the model loads (a syntax error fails the load), with
//! the settings Hugging Face's `transformers` renders chat templates with: blocks trim the
//! newline after them and strip the spaces before them, and strings have Python's methods
//! (`.strip()`, `.startswith()`, `.split()`, …, from `minijinja-contrib`'s pycompat).

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Error, ErrorKind, context};

use crate::llm::{ChatMessage, GenerationError};

/// The name the template is compiled under; errors cite it with a line number.
const TEMPLATE_NAME: &str = "chat_template";

/// A model's chat template.
pub struct ChatTemplate {
    /// The environment holding the compiled template; `None` renders ChatML.
    compiled: Option<Environment<'static>>,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// A template compiled from Jinja `source` (ChatML when `None`), with the texts of the
    /// model's `bos_token` and `eos_token`. Fails when `source` is not a valid template.
    pub fn new(source: Option<String>, bos: String, eos: String) -> Result<Self, GenerationError> {
        let compiled = source
            .map(compile)
            .transpose()
            .map_err(|e| GenerationError::Invalid(format!("the model's chat template: {e}")))?;
        Ok(Self { compiled, bos, eos })
    }

    /// The prompt for `messages`, ending where the assistant's answer begins.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String, GenerationError> {
        let Some(env) = &self.compiled else {
            return Ok(chatml(messages));
        };
        let messages: Vec<_> = messages
            .iter()
            .map(|m| context! { role => m.role.as_str(), content => &m.content })
            .collect();
        let ctx = context! {
            messages,
            add_generation_prompt => true,
            bos_token => &self.bos,
            eos_token => &self.eos,
        };
        env.get_template(TEMPLATE_NAME)
            .and_then(|template| template.render(ctx))
            .map_err(|e| GenerationError::Invalid(format!("chat template: {e}")))
    }
}

/// An environment holding `source` compiled under [`TEMPLATE_NAME`].
fn compile(source: String) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()?;
    env.set_syntax(syntax);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function("raise_exception", |message: String| -> Result<(), Error> {
        Err(Error::new(ErrorKind::InvalidOperation, message))
    });
    env.add_template_owned(TEMPLATE_NAME, source)?;
    Ok(env)
}

/// `<|im_start|>role\ncontent<|im_end|>\n` per message, then the assistant's header.
fn chatml(messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str(&format!(
            "<|im_start|>{}\n{}<|im_end|>\n",
            m.role.as_str(),
            m.content
        ));
    }
    out.push_str("<|im_start|>assistant\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Role;

    #[test]
    fn renders_jinja_and_falls_back_to_chatml() {
        let messages = [
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "Hi"),
        ];
        let jinja = ChatTemplate::new(
            Some(
                "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}:{{ m.content }}]{% endfor %}\
                 {% if add_generation_prompt %}>{% endif %}"
                    .into(),
            ),
            "<s>".into(),
            "</s>".into(),
        )
        .unwrap();
        assert_eq!(
            jinja.render(&messages).unwrap(),
            "<s>[system:Be brief.][user:Hi]>"
        );
        let fallback = ChatTemplate::new(None, String::new(), String::new()).unwrap();
        assert_eq!(
            fallback.render(&messages).unwrap(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
             <|im_start|>assistant\n"
        );
        let failing = ChatTemplate::new(
            Some("{{ raise_exception('no') }}".into()),
            String::new(),
            String::new(),
        )
        .unwrap();
        assert!(failing.render(&messages).is_err());
    }

    /// A template written the way Hugging Face chat templates are: a system message set
    /// apart, Python string methods, whitespace left to block trimming.
    const QUESTION_ANSWER_TEMPLATE: &str = r"{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'].strip() %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set system_message = 'Answer only from the sources you are given.' %}
    {%- set loop_messages = messages %}
{%- endif %}
{{ bos_token }}### System
{{ system_message }}

{% for message in loop_messages %}
    {% if message['role'] == 'user' %}
        {% if message['content'].startswith('/') %}
            {{ raise_exception('Slash commands are not questions.') }}
        {% endif %}
### Question
{{ message['content'].strip() }}

    {% elif message['role'] == 'assistant' %}
### Answer
{{ message['content'].strip() + eos_token }}

    {% endif %}
{% endfor %}
{% if add_generation_prompt %}
### Answer
{% endif %}
";

    #[test]
    fn renders_a_template_written_like_hugging_faces() {
        let template = ChatTemplate::new(
            Some(QUESTION_ANSWER_TEMPLATE.into()),
            "<s>".into(),
            "</s>".into(),
        )
        .unwrap();
        let messages = [
            ChatMessage::new(Role::System, "  Svara kort och ange källan.\n"),
            ChatMessage::new(
                Role::User,
                "Vad säger 2 kap. 1 § regeringsformen om yttrandefrihet?  ",
            ),
            ChatMessage::new(
                Role::Assistant,
                " Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet. ",
            ),
            ChatMessage::new(Role::User, "\nGäller det även informationsfrihet?"),
        ];
        // What `transformers` renders for the same template and messages.
        assert_eq!(
            template.render(&messages).unwrap(),
            "<s>### System\nSvara kort och ange källan.\n\n\
             ### Question\nVad säger 2 kap. 1 § regeringsformen om yttrandefrihet?\n\n\
             ### Answer\nVar och en är gentemot det allmänna tillförsäkrad yttrandefrihet.</s>\n\n\
             ### Question\nGäller det även informationsfrihet?\n\n### Answer\n"
        );
        let command = [ChatMessage::new(Role::User, "/reset")];
        let refused = template.render(&command).unwrap_err().to_string();
        assert!(
            refused.contains("Slash commands are not questions."),
            "{refused}"
        );
    }

    #[test]
    fn a_template_that_does_not_compile_fails_at_load() {
        let unclosed = "{% for message in messages %}{{ message['content'] }}\n";
        let Err(error) = ChatTemplate::new(Some(unclosed.into()), String::new(), String::new())
        else {
            panic!("an unclosed for loop compiled");
        };
        let error = error.to_string();
        assert!(
            error.starts_with("the model's chat template: syntax error")
                && error.contains("chat_template:"),
            "{error}"
        );
    }
}
