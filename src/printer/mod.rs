//! Everything the binary shows: tables and grids, reports, warnings and hints. The
//! commands hand it what the library returned; the library never formats for a terminal
//! (as ripgrep keeps its printers apart from the search). Data goes to stdout, messages
//! to stderr. One aligner, [`aligned`], lays out every table.

pub mod classroom;
pub mod cluster;
pub mod lessons;
pub mod tree;

use std::borrow::Cow;
use std::io::IsTerminal;

use gitgen::catalog::argocd_version::PinWarning;
use gitgen::names::EnvName;
use gitgen::settings::{ProcessEnv, Settings};
use serde::Serialize;

/// `rows` with each column padded to its widest cell (counted in characters), two spaces
/// apart, trailing spaces trimmed, one line each. The first row is usually the header.
pub fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `value` as pretty JSON and a newline, the `-o json` of every command.
pub fn json(value: &impl Serialize) -> Result<String, gitgen::Error> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// Repo text made safe for a terminal: every control character but newline and tab is
/// shown escaped (`\u{1b}`), so a lesson from someone else cannot clear the screen,
/// retitle the window or write the clipboard (OSC 52) when it is printed. `lesson` and
/// `list` always print this way (their output is for reading); `diff` does on a terminal.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Whether stdout gets colours: a terminal, and `NO_COLOR` unset.
pub fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && !ProcessEnv::read().no_color
}

/// `names` quoted and joined: `` `a`, `b` ``.
fn quoted<T: std::fmt::Display>(names: impl IntoIterator<Item = T>) -> String {
    names
        .into_iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Warns on stderr while `repo_url` is still the placeholder `gitgen init` wrote: the
/// rendered Applications point at a repo that does not exist, which only bootstrap refuses.
pub fn warn_placeholder_repo_url(settings: &Settings) {
    if settings.config.repo_url == gitgen::scaffold::PLACEHOLDER_REPO_URL {
        eprintln!(
            "warning: `repo_url` in `{}` is still the placeholder `{}`; Argo CD cannot clone it.",
            gitgen::catalog::config::CONFIG_FILE,
            settings.config.repo_url
        );
        eprintln!(
            "hint: set it to the URL you push this repo to, then run `{}`",
            settings.command_for_every_environment("render")
        );
    }
}

/// Warns on stderr when `repo_url` is an SSH URL: Argo CD clones it only with a private
/// key, which gitgen never handles. Argo CD reads one from a repository Secret (label
/// `argocd.argoproj.io/secret-type: repository`, keys `url` and `sshPrivateKey`), as its
/// `docs/operator-manual/declarative-setup.md` ("Repositories") describes.
pub fn warn_ssh_repo_url(settings: &Settings) {
    if settings.config.repo_url_is_ssh() {
        eprintln!(
            "warning: `repo_url` `{}` is an SSH URL: Argo CD can clone it only with an SSH key, which gitgen does not give it.",
            settings.config.repo_url
        );
        eprintln!(
            "hint: create a Secret in namespace `{}` labelled `argocd.argoproj.io/secret-type: repository` with `url: {}` and `sshPrivateKey` (a deploy key; see Argo CD's declarative setup, \"Repositories\"), or set `repo_url` to the repo's HTTPS URL (`GITGEN_REPO_PASSWORD` at `bootstrap` for a private one)",
            settings.config.argocd.namespace, settings.config.repo_url
        );
    }
}

/// Warns of an untested Argo CD release, and of a pin that moved more than one minor
/// version (or back) since the committed install of `environments`, before a command
/// rewrites it (`render`, `enable`, `disable`). A failure to read the committed install is
/// the render's to report, so it only leaves the warning out.
pub fn warn_about_the_argocd_pin(settings: &Settings, environments: &[EnvName]) {
    use gitgen::catalog::argocd_version::pin_warnings;
    let Ok(warnings) = pin_warnings(&settings.repo, environments, &settings.config.argocd.version) else {
        return;
    };
    for warning in warnings {
        pin_warning(&warning);
    }
}

/// Prints a warning about the Argo CD pin: the message, the upgrade notes to read (one
/// URL a line, indented), and the hint.
pub fn pin_warning(warning: &PinWarning) {
    eprintln!("warning: {}", warning.message());
    for note in warning.notes() {
        eprintln!("  {note}");
    }
    eprintln!("hint: {}", warning.hint());
}

/// After a command rendered only `done`, says which other environments may be stale
/// ([`gitgen::usecase::render::stale_elsewhere`]).
pub fn note_stale_elsewhere(settings: &Settings, done: &[EnvName]) {
    let stale = gitgen::usecase::render::stale_elsewhere(settings, done);
    if stale.is_empty() {
        return;
    }
    let one = stale.len() == 1;
    eprintln!(
        "note: {} may be stale: {} not rendered by this command and {} last render read other inputs.",
        quoted(&stale),
        if one { "it was" } else { "they were" },
        if one { "its" } else { "their" },
    );
    eprintln!(
        "hint: run `{}` to render every environment (`{}` lists what differs)",
        settings.command_for_every_environment("render"),
        settings.command_for_every_environment("render --check")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|cell| (*cell).to_owned()).collect()
    }

    #[test]
    fn aligned_pads_each_column_to_its_widest_cell_in_characters() {
        let table = [
            row(&["LESSON", "STAGES"]),
            row(&["a", "one → two"]),
            row(&["longer-name", "x"]),
        ];
        assert_eq!(
            aligned(&table),
            "LESSON       STAGES\na            one → two\nlonger-name  x\n"
        );
    }

    #[test]
    fn aligned_trims_the_padding_of_the_last_column() {
        let table = [row(&["A", "B"]), row(&["wide", ""])];
        assert_eq!(aligned(&table), "A     B\nwide\n");
    }

    #[test]
    fn printable_escapes_control_characters_but_newline_and_tab() {
        assert_eq!(printable("a\x1b]52;c;x\x07\tb\n"), "a\\u{1b}]52;c;x\\u{7}\tb\n");
    }
}
