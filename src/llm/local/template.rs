//! Rendering a conversation into the model's prompt with its Jinja chat template, or with
//! ChatML when the model ships none.

use minijinja::{Environment, Error, ErrorKind, context};

use crate::llm::{ChatMessage, GenerationError};

/// A model's chat template.
pub struct ChatTemplate {
    source: Option<String>,
    bos: String,
    eos: String,
    env: Environment<'static>,
}

impl ChatTemplate {
    /// A template from Jinja `source` (ChatML when `None`), with the texts of the model's
    /// `bos_token` and `eos_token`.
    pub fn new(source: Option<String>, bos: String, eos: String) -> Self {
        let mut env = Environment::new();
        env.add_function("raise_exception", |message: String| -> Result<(), Error> {
            Err(Error::new(ErrorKind::InvalidOperation, message))
        });
        Self {
            source,
            bos,
            eos,
            env,
        }
    }

    /// The prompt for `messages`, ending where the assistant's answer begins.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String, GenerationError> {
        let Some(source) = &self.source else {
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
        self.env
            .render_str(source, ctx)
            .map_err(|e| GenerationError::Invalid(format!("chat template: {e}")))
    }
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
        );
        assert_eq!(
            jinja.render(&messages).unwrap(),
            "<s>[system:Be brief.][user:Hi]>"
        );
        let fallback = ChatTemplate::new(None, String::new(), String::new());
        assert_eq!(
            fallback.render(&messages).unwrap(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
             <|im_start|>assistant\n"
        );
        let failing = ChatTemplate::new(
            Some("{{ raise_exception('no') }}".into()),
            String::new(),
            String::new(),
        );
        assert!(failing.render(&messages).is_err());
    }
}
