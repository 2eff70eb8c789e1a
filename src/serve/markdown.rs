//! A walkthrough from Markdown to HTML that is safe to put in the page, whoever wrote the
//! lesson: raw HTML is shown as text, a link or image to anything but http(s), mailto or a
//! relative path goes nowhere, and bare `http(s)://` URLs (the service URLs a walkthrough
//! names for this environment) become links.
//!
//! pulldown-cmark passes raw HTML through as `Event::Html`/`Event::InlineHtml` and writes
//! a link's destination as given (only escaped: `pulldown-cmark/src/html.rs`), so both are
//! rewritten here, on the events, before its HTML writer sees them.

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use regex::Regex;
use std::sync::LazyLock;

/// A bare URL in text; trailing punctuation is the sentence's, not the URL's.
static BARE_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"https?://[^\s<>()\[\]`]+[^\s<>()\[\]`.,;:!?'\x22]").expect("a valid regex"));

/// The HTML of walkthrough `markdown`.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut events = Vec::new();
    // Text inside a link or code is left as it is: a link in a link is not HTML.
    let mut in_link = 0usize;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Html(raw) | Event::InlineHtml(raw) => events.push(Event::Text(raw)),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                in_link += 1;
                events.push(Event::Start(Tag::Link {
                    link_type,
                    dest_url: inert(dest_url),
                    title,
                    id,
                }));
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => events.push(Event::Start(Tag::Image {
                link_type,
                dest_url: inert(dest_url),
                title,
                id,
            })),
            Event::End(TagEnd::Link) => {
                in_link = in_link.saturating_sub(1);
                events.push(event);
            }
            Event::Text(text) if in_link == 0 => link_bare_urls(text, &mut events),
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// `url` if it is http(s), mailto, a fragment or a relative path; else `#`, so a
/// `javascript:` or `data:` link does nothing. Browsers drop tabs and newlines from a URL
/// and ignore leading spaces and controls (WHATWG URL parser), so the scheme is read as
/// they read it.
fn inert(url: CowStr<'_>) -> CowStr<'_> {
    let seen: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .skip_while(|c| *c <= ' ')
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme_end = seen.find(':');
    let path_start = seen.find(['/', '?', '#']);
    let has_scheme = match (scheme_end, path_start) {
        (Some(colon), Some(path)) => colon < path,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let allowed = ["http:", "https:", "mailto:"].iter().any(|s| seen.starts_with(s));
    if has_scheme && !allowed {
        CowStr::Borrowed("#")
    } else {
        url
    }
}

/// Pushes `text` as events, each bare URL in it a link to itself.
fn link_bare_urls<'a>(text: CowStr<'a>, events: &mut Vec<Event<'a>>) {
    let mut rest = 0;
    for found in BARE_URL.find_iter(&text) {
        if found.start() > rest {
            events.push(Event::Text(CowStr::from(text[rest..found.start()].to_owned())));
        }
        let url = CowStr::from(found.as_str().to_owned());
        events.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: url.clone(),
            title: CowStr::Borrowed(""),
            id: CowStr::Borrowed(""),
        }));
        events.push(Event::Text(url));
        events.push(Event::End(TagEnd::Link));
        rest = found.end();
    }
    match rest {
        0 => events.push(Event::Text(text)),
        end if end < text.len() => events.push(Event::Text(CowStr::from(text[end..].to_owned()))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_service_urls_become_links_without_the_sentence_s_punctuation() {
        let html = to_html("Open http://localhost:8000/nyancat. Then https://localhost:8081, too.");
        assert_eq!(
            html,
            "<p>Open <a href=\"http://localhost:8000/nyancat\">http://localhost:8000/nyancat</a>. \
             Then <a href=\"https://localhost:8081\">https://localhost:8081</a>, too.</p>\n"
        );
    }

    #[test]
    fn urls_in_code_and_in_links_stay_as_they_are() {
        let html = to_html("`curl http://localhost:8000` and [the UI](https://localhost:8081/x)");
        assert_eq!(
            html,
            "<p><code>curl http://localhost:8000</code> and <a href=\"https://localhost:8081/x\">the UI</a></p>\n"
        );
    }

    #[test]
    fn raw_html_and_script_tags_are_shown_as_text() {
        let html = to_html("<script>alert(1)</script>\n\nHi <img src=x onerror=alert(2)> there\n");
        assert!(!html.contains("<script") && !html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"), "{html}");
    }

    #[test]
    fn javascript_and_data_links_go_nowhere_however_they_are_spelt() {
        for url in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "java%0ascript:alert(1)x:",
            "java&#9;script:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
        ] {
            let html = to_html(&format!("[click]({url}) ![pic]({url})"));
            assert!(
                html.contains("<a href=\"#\">click</a>") && html.contains("<img src=\"#\""),
                "{url}: {html}"
            );
        }
    }

    #[test]
    fn http_mailto_fragment_and_relative_links_are_kept() {
        for url in [
            "https://example.org/a?b#c",
            "mailto:a@example.org",
            "#explore",
            "../README.md",
            "x/y:z",
        ] {
            let html = to_html(&format!("[here]({url})"));
            assert!(html.contains(&format!("href=\"{url}\"")), "{url}: {html}");
        }
    }
}
