//! Markdown to HTML: heading ids and table of contents, `@/` links, summaries, and the
//! Chinese mending of `cjk`.

use pulldown_cmark::{html, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use crate::cjk;
use crate::slug::{self, AnchorSet};

/// The marker that ends a page's summary.
const MORE_MARKER: &str = "<!-- more -->";

/// One heading in a table of contents.
#[derive(Debug, Clone, Serialize)]
pub struct Heading {
    /// 1 for `#`, 2 for `##`…
    pub level: u32,
    /// The anchor id.
    pub id: String,
    /// The heading's text.
    pub title: String,
    /// The page permalink with `#id`.
    pub permalink: String,
    /// Headings of the next level below this one.
    pub children: Vec<Heading>,
}

/// What rendering one document gives.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The document's HTML.
    pub html: String,
    /// The HTML before `<!-- more -->`, if the marker is there.
    pub summary: Option<String>,
    /// Nested table of contents.
    pub toc: Vec<Heading>,
    /// `@/` links whose file does not exist, as written.
    pub broken_links: Vec<String>,
    /// Explicit heading ids (`{#id}`) used more than once.
    pub duplicate_ids: Vec<String>,
}

/// Options shared by every document of a site.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Renders `source`. `resolve` maps a content path (`guide/online.md`) to its permalink;
/// `permalink` is the document's own, for table-of-contents links.
pub fn render(source: &str, permalink: &str, resolve: &dyn Fn(&str) -> Option<String>) -> Rendered {
    let mut broken_links = Vec::new();
    let mut events: Vec<Event<'_>> = Parser::new_ext(source, options())
        .into_offset_iter()
        .map(|(event, range)| protect_escaped_delimiter(event, &source[..range.start]))
        .collect();
    cjk::mend_events(&mut events);
    let (headings, duplicate_ids) = assign_heading_ids(&mut events);
    let ids: Vec<&str> = headings.iter().map(|h| h.1.as_str()).collect();
    rewrite_links(&mut events, &ids, resolve, &mut broken_links);
    let toc = build_toc(&headings, permalink);
    let events = wrap_tables(events);

    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    let summary = out
        .find(MORE_MARKER)
        .map(|at| out[..at].trim_end().to_string());
    if summary.is_some() {
        out = out.replacen(MORE_MARKER, "<span id=\"continue-reading\"></span>", 1);
    }
    Rendered {
        html: out,
        summary,
        toc,
        broken_links,
        duplicate_ids,
    }
}

/// Renders a short piece of markdown for the `markdown` template filter.
pub fn render_fragment(source: &str, inline: bool) -> String {
    let rendered = render(source, "", &|_| None);
    if inline {
        let html = rendered.html.trim_end();
        if let Some(inner) = html
            .strip_prefix("<p>")
            .and_then(|h| h.strip_suffix("</p>"))
        {
            if !inner.contains("<p>") {
                return inner.to_string();
            }
        }
        return html.to_string();
    }
    rendered.html
}

/// A `\*` reaches us as a plain `*`; keep it (and `\_`, `\~`) from being taken for
/// emphasis later. `before` is the source text up to the event.
fn protect_escaped_delimiter<'a>(event: Event<'a>, before: &str) -> Event<'a> {
    let Event::Text(text) = &event else {
        return event;
    };
    let entity = match text.as_bytes().first() {
        Some(b'*') => "&#42;",
        Some(b'_') => "&#95;",
        Some(b'~') => "&#126;",
        _ => return event,
    };
    if !before.ends_with('\\') {
        return event;
    }
    let rest = crate::templates::escape_html(&text[1..]);
    Event::InlineHtml(CowStr::from(format!("{entity}{rest}")))
}

/// Gives every heading a distinct id; returns (level, id, text) in order, and the explicit
/// ids written twice.
fn assign_heading_ids(events: &mut [Event<'_>]) -> (Vec<(u32, String, String)>, Vec<String>) {
    let mut set = AnchorSet::default();
    let mut explicit = std::collections::HashSet::new();
    let mut duplicates = Vec::new();
    for event in events.iter() {
        if let Event::Start(Tag::Heading { id: Some(id), .. }) = event {
            set.reserve(id);
            if !explicit.insert(id.to_string()) {
                duplicates.push(id.to_string());
            }
        }
    }
    let mut headings = Vec::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, id, .. }) = &events[i] {
            let level = heading_level(*level);
            let explicit = id.as_ref().map(|s| s.to_string());
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j] {
                    text.push_str(t);
                }
                j += 1;
            }
            let id = match explicit {
                Some(id) => id,
                None => set.unique(slug::anchor(&text)),
            };
            if let Event::Start(Tag::Heading { id: slot, .. }) = &mut events[i] {
                *slot = Some(CowStr::from(id.clone()));
            }
            headings.push((level, id, text));
            i = j;
        }
        i += 1;
    }
    (headings, duplicates)
}

fn heading_level(level: HeadingLevel) -> u32 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn rewrite_links(
    events: &mut [Event<'_>],
    ids: &[&str],
    resolve: &dyn Fn(&str) -> Option<String>,
    broken: &mut Vec<String>,
) {
    for event in events.iter_mut() {
        let Event::Start(Tag::Link { dest_url, .. }) = event else {
            continue;
        };
        if let Some(target) = dest_url.strip_prefix("@/") {
            let (path, fragment) = match target.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (target, None),
            };
            let path = slug::decode_fragment(path);
            match resolve(&path) {
                Some(permalink) => {
                    let href = match fragment {
                        Some(f) => format!("{permalink}#{}", slug::decode_fragment(f)),
                        None => permalink,
                    };
                    *dest_url = CowStr::from(href);
                }
                None => broken.push(dest_url.to_string()),
            }
        } else if let Some(fragment) = dest_url.strip_prefix('#') {
            if let Some(id) = slug::resolve_fragment(fragment, ids.iter().copied()) {
                *dest_url = CowStr::from(format!("#{id}"));
            }
        }
    }
}

fn build_toc(headings: &[(u32, String, String)], permalink: &str) -> Vec<Heading> {
    let mut roots: Vec<Heading> = Vec::new();
    for (level, id, title) in headings {
        let heading = Heading {
            level: *level,
            id: id.clone(),
            title: title.clone(),
            permalink: format!("{permalink}#{id}"),
            children: Vec::new(),
        };
        insert_heading(&mut roots, heading);
    }
    roots
}

fn insert_heading(list: &mut Vec<Heading>, heading: Heading) {
    match list.last_mut() {
        Some(last) if last.level < heading.level => insert_heading(&mut last.children, heading),
        _ => list.push(heading),
    }
}

/// Puts each table in a focusable scroll box so it can be read on a narrow phone screen.
fn wrap_tables(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        match &event {
            Event::Start(Tag::Table(_)) => {
                out.push(Event::Html(CowStr::from(
                    "<div class=\"table-scroll\" role=\"region\" tabindex=\"0\" \
                     aria-label=\"表格（可左右滑动）\">\n",
                )));
                out.push(event);
            }
            Event::End(TagEnd::Table) => {
                out.push(event);
                out.push(Event::Html(CowStr::from("</div>\n")));
            }
            _ => out.push(event),
        }
    }
    out
}

/// The visible text of an HTML fragment, with tags removed and common entities decoded.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut skip_until: Option<&str> = None;
    let mut i = 0;
    let bytes = html.as_bytes();
    while i < html.len() {
        if let Some(end) = skip_until {
            match html[i..].find(end) {
                Some(at) => {
                    i += at + end.len();
                    skip_until = None;
                    continue;
                }
                None => break,
            }
        }
        let c = bytes[i];
        if in_tag {
            if c == b'>' {
                in_tag = false;
                out.push(' ');
            }
            i += 1;
            continue;
        }
        if c == b'<' {
            let rest = &html[i..];
            if rest.starts_with("<script") {
                skip_until = Some("</script>");
            } else if rest.starts_with("<style") {
                skip_until = Some("</style>");
            } else if rest.starts_with("<!--") {
                skip_until = Some("-->");
            } else {
                in_tag = true;
            }
            i += 1;
            continue;
        }
        if c == b'&' {
            let rest = &html[i..];
            let decoded = [
                ("&amp;", '&'),
                ("&lt;", '<'),
                ("&gt;", '>'),
                ("&quot;", '"'),
                ("&#39;", '\''),
                ("&#42;", '*'),
                ("&nbsp;", ' '),
            ]
            .iter()
            .find(|(entity, _)| rest.starts_with(entity));
            if let Some((entity, ch)) = decoded {
                out.push(*ch);
                i += entity.len();
                continue;
            }
        }
        let ch = html[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    collapse_space(&out)
}

/// Collapses runs of whitespace to one space, and drops it between two CJK characters.
pub fn collapse_space(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending = !out.is_empty();
            continue;
        }
        if pending {
            let prev = out.chars().next_back().unwrap_or(' ');
            if !(cjk::is_cjk(prev) && cjk::is_cjk(c)) {
                out.push(' ');
            }
            pending = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(source: &str) -> String {
        render(source, "/p/", &|path| {
            (path == "guide/安装.md").then(|| "/guide/安装/".to_string())
        })
        .html
    }

    #[test]
    fn emphasis_next_to_chinese_punctuation_renders() {
        assert_eq!(
            html("请**务必阅读《员工手册》**后签字。"),
            "<p>请<strong>务必阅读《员工手册》</strong>后签字。</p>\n"
        );
        assert_eq!(
            html("**注意：**本页面仅供内部使用。"),
            "<p><strong>注意：</strong>本页面仅供内部使用。</p>\n"
        );
        assert_eq!(
            html("这是**加粗**，然后"),
            "<p>这是<strong>加粗</strong>，然后</p>\n"
        );
        assert_eq!(html("*强调：*文字"), "<p><em>强调：</em>文字</p>\n");
        assert_eq!(
            html("见 **[链接](/a/)：**说明"),
            "<p>见 <strong><a href=\"/a/\">链接</a>：</strong>说明</p>\n"
        );
    }

    #[test]
    fn doesnt_invent_emphasis() {
        assert_eq!(html("2 * 3 * 4"), "<p>2 * 3 * 4</p>\n");
        assert_eq!(
            html("价格\\*说明：\\*备注"),
            "<p>价格&#42;说明：&#42;备注</p>\n"
        );
        assert_eq!(html("\\_注意：\\_本页"), "<p>&#95;注意：&#95;本页</p>\n");
        assert_eq!(html("`**代码：**`后"), "<p><code>**代码：**</code>后</p>\n");
        assert_eq!(html("单个**星号"), "<p>单个**星号</p>\n");
        assert_eq!(html("中文_强调_中文"), "<p>中文_强调_中文</p>\n");
        assert_eq!(html("见 my_var_name 变量"), "<p>见 my_var_name 变量</p>\n");
    }

    #[test]
    fn line_breaks_between_chinese_leave_no_space() {
        assert_eq!(html("用人单位\n携带材料"), "<p>用人单位携带材料</p>\n");
        assert_eq!(html("hello\nworld"), "<p>hello\nworld</p>\n");
    }

    #[test]
    fn headings_keep_chinese_ids_and_toc_matches() {
        let out = render(
            "## 试用\n\n## 适用\n\n## 概述\n\n### 细节\n\n## 概述",
            "/p/",
            &|_| None,
        );
        assert!(out.html.contains("<h2 id=\"试用\">试用</h2>"));
        assert!(out.html.contains("<h2 id=\"概述-1\">概述</h2>"));
        let ids: Vec<_> = out.toc.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["试用", "适用", "概述", "概述-1"]);
        assert_eq!(out.toc[2].children[0].permalink, "/p/#细节");
    }

    #[test]
    fn explicit_ids_win_and_are_not_reused() {
        let out = html("## 问题 {#q1}\n\n## q1");
        assert!(
            out.contains("id=\"q1\"") && out.contains("id=\"q1-1\""),
            "{out}"
        );
    }

    #[test]
    fn resolves_internal_links_and_fragments() {
        let out = render(
            "## 安装步骤\n\n[见](@/guide/安装.md#安装步骤) [同页](#安装步骤) \
             [编码](#%E5%AE%89%E8%A3%85%E6%AD%A5%E9%AA%A4) [坏](@/nope.md)",
            "/p/",
            &|path| (path == "guide/安装.md").then(|| "/guide/安装/".to_string()),
        );
        assert!(
            out.html.contains(
                "href=\"/guide/%E5%AE%89%E8%A3%85/#%E5%AE%89%E8%A3%85%E6%AD%A5%E9%AA%A4\""
            ) || out.html.contains("href=\"/guide/安装/#安装步骤\""),
            "{}",
            out.html
        );
        assert_eq!(
            out.html.matches("#安装步骤\"").count()
                + out
                    .html
                    .matches("#%E5%AE%89%E8%A3%85%E6%AD%A5%E9%AA%A4\"")
                    .count(),
            3,
            "{}",
            out.html
        );
        assert_eq!(out.broken_links, ["@/nope.md"]);
    }

    #[test]
    fn splits_summary_at_more_marker() {
        let out = render("第一段。\n\n<!-- more -->\n\n第二段。", "/p/", &|_| None);
        assert_eq!(out.summary.as_deref(), Some("<p>第一段。</p>"));
        assert!(out.html.contains("第二段"));
    }

    #[test]
    fn wraps_tables_for_narrow_screens() {
        let out = html("| 甲 | 乙 |\n|---|---|\n| 1 | 2 |");
        assert!(out.starts_with("<div class=\"table-scroll\""));
    }

    #[test]
    fn plain_text_drops_tags_and_space_between_chinese() {
        assert_eq!(
            plain_text("<p>新员工<strong>入职</strong></p>\n<p>须知 &amp; more</p>"),
            "新员工入职须知 & more"
        );
    }
}
