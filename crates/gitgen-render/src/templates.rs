//! minijinja, set up so a template can only reach its own lesson and can never break
//! the YAML it produces.
//!
//! Each lesson gets its own [`minijinja::Environment`] holding only that lesson's files,
//! so `{% include %}` cannot reach another lesson or the file system. Values printed into
//! YAML are escaped as JSON scalars; execution is bounded by fuel and output size.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::RenderError;
use gitgen_catalog::{LESSON_FILE, LoadedLesson};

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
                env.add_template(name, text)
                    .map_err(|err| template_error(lesson, name, &err))?;
            }
        }
        Ok(LessonTemplates { env, lesson })
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, RenderError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|err| template_error(self.lesson, name, &err))?;
        let mut text = template
            .render(context)
            .map_err(|err| template_error(self.lesson, name, &err))?;
        if text.len() > MAX_OUTPUT_BYTES {
            return Err(RenderError::OutputTooLarge {
                path: self.lesson.dir.join(name),
                bytes: text.len(),
                limit: MAX_OUTPUT_BYTES,
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
        kind: err.kind(),
    }
}

/// The template line that most likely produced line `rendered_line` (1-based) of
/// `rendered`, for messages about rendered text. minijinja keeps no source map, so this
/// aligns the two texts: a template line matches a rendered line when its text outside
/// tags is the rendered line's start and end. Lines are walked in order, going back to
/// the start when nothing matches further on (a loop body renders again).
pub fn template_line(template: &str, rendered: &str, rendered_line: usize) -> Option<usize> {
    let patterns: Vec<Option<(String, String, bool)>> = template.lines().map(line_pattern).collect();
    let matches = |k: usize, line: &str| match &patterns[k] {
        Some((prefix, suffix, exact)) if *exact => line == prefix || line.trim_end() == prefix.trim_end(),
        Some((prefix, suffix, _)) => {
            line.len() >= prefix.len() + suffix.len()
                && line.starts_with(prefix.as_str())
                && line.ends_with(suffix.as_str())
        }
        None => false,
    };
    let mut next = 0;
    for (i, line) in rendered.lines().enumerate().take(rendered_line) {
        let found = (next..patterns.len())
            .find(|&k| matches(k, line))
            .or_else(|| (0..next).find(|&k| matches(k, line)));
        if i + 1 == rendered_line {
            return found.map(|k| k + 1);
        }
        if let Some(k) = found {
            next = k + 1;
        }
    }
    None
}

/// A template line's literal start and end (outside `{{ }}`, `{% %}`, `{# #}`), and
/// whether it has no tag at all; `None` for a line that only holds block tags or
/// comments, which renders to nothing.
fn line_pattern(line: &str) -> Option<(String, String, bool)> {
    let mut literals = Vec::new();
    let mut rest = line;
    let mut only_blocks = true;
    loop {
        let next = ["{{", "{%", "{#"]
            .iter()
            .filter_map(|open| rest.find(open).map(|at| (at, *open)))
            .min();
        let Some((at, open)) = next else {
            literals.push(rest);
            break;
        };
        literals.push(&rest[..at]);
        if open == "{{" {
            only_blocks = false;
        }
        let close = match open {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        match rest[at..].find(close) {
            Some(end) => rest = &rest[at + end + close.len()..],
            None => {
                rest = "";
            }
        }
    }
    if literals.len() == 1 {
        return Some((line.to_owned(), String::new(), true));
    }
    if only_blocks && literals.iter().all(|l| l.trim().is_empty()) {
        return None;
    }
    let prefix = literals[0].to_owned();
    let suffix = literals.last().copied().unwrap_or("").to_owned();
    Some((prefix, suffix, false))
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

#[cfg(test)]
mod tests {
    use super::template_line;

    #[test]
    fn finds_the_template_line_of_a_rendered_line_past_block_tags() {
        let template = "a: 1\n{% if x %}\nb: {{ y }}\n{% endif %}\n  c: 2\n";
        let rendered = "a: 1\nb: \"z\"\n  c: 2\n";
        assert_eq!(template_line(template, rendered, 1), Some(1));
        assert_eq!(template_line(template, rendered, 2), Some(3));
        assert_eq!(template_line(template, rendered, 3), Some(5));
    }

    #[test]
    fn finds_the_template_line_inside_a_loop() {
        let template = "items:\n{% for i in range(3) %}\n  - {{ i }}\n{% endfor %}\nend: x\n";
        let rendered = "items:\n  - 0\n  - 1\n  - 2\nend: x\n";
        assert_eq!(template_line(template, rendered, 4), Some(3));
        assert_eq!(template_line(template, rendered, 5), Some(5));
    }
}
