//! minijinja, set up so a template can only reach its own lesson and can never break
//! the YAML it produces.
//!
//! Each lesson gets its own [`minijinja::Environment`] holding only that lesson's files,
//! so `{% include %}` cannot reach another lesson or the file system. Values printed into
//! YAML are escaped as JSON scalars; execution is bounded by fuel and output size.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::RenderError;
use crate::catalog::{LESSON_FILE, LoadedLesson};

/// Instructions a single template may run; stops runaway loops and recursion.
const FUEL: u64 = 5_000_000;
/// The largest output one template may produce.
const MAX_OUTPUT_BYTES: usize = 8 * 1024 * 1024;

/// The templates of one lesson.
pub struct LessonTemplates<'a> {
    env: Environment<'a>,
    lesson: &'a LoadedLesson,
}

impl<'a> LessonTemplates<'a> {
    /// Compiles every template file of `lesson`; a syntax error names the file and line.
    pub fn new(lesson: &'a LoadedLesson, names: impl Iterator<Item = &'a str>) -> Result<Self, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        // Block tags on their own line leave no blank line behind, as in Ansible and Helm
        // templates, so conditionals in YAML read naturally.
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid");
        env.set_syntax(syntax);
        // YAML templates print values as JSON scalars: a string with `:`, `#`, quotes,
        // newlines or `{{` is written quoted and escaped, so it stays one scalar.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                AutoEscape::Json
            } else {
                AutoEscape::None
            }
        });
        for name in names {
            if name == LESSON_FILE {
                continue;
            }
            if let Some(text) = lesson.files.get(name) {
                env.add_template(name, text).map_err(|err| template_error(lesson, name, &err))?;
            }
        }
        Ok(LessonTemplates { env, lesson })
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, RenderError> {
        let template = self.env.get_template(name).map_err(|err| template_error(self.lesson, name, &err))?;
        let mut text = template.render(context).map_err(|err| template_error(self.lesson, name, &err))?;
        if text.len() > MAX_OUTPUT_BYTES {
            return Err(RenderError::Template {
                path: self.lesson.dir.join(name),
                line: None,
                message: format!("the output is over {} MiB", MAX_OUTPUT_BYTES / 1024 / 1024),
            });
        }
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }
}

fn template_error(lesson: &LoadedLesson, name: &str, err: &minijinja::Error) -> RenderError {
    // An error inside an included template names that template, not the one rendered.
    let file = err.name().unwrap_or(name);
    let mut message = err.kind().to_string();
    if let Some(detail) = err.detail() {
        message = format!("{message}: {detail}");
    }
    RenderError::Template {
        path: lesson.dir.join(file),
        line: err.line(),
        message,
    }
}

/// The `stage_at_least("name")` function for one lesson rendered at stage `index`.
pub fn stage_at_least(lesson: &LoadedLesson, index: usize) -> Value {
    let stages: Vec<String> = lesson.stage_names().map(|s| s.to_string()).collect();
    Value::from_function(move |name: &str| -> Result<bool, minijinja::Error> {
        match stages.iter().position(|s| s == name) {
            Some(wanted) => Ok(index >= wanted),
            None => Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("this lesson has no stage `{name}` (its stages: {})", stages.join(", ")),
            )),
        }
    })
}
