//! Slugs for heading anchors and URL paths that keep Chinese text readable.
//!
//! Zola transliterates non-Latin text by default, so 试用 and 适用 both become `shi-yong`.
//! Here anchors keep the characters as written; the same function normalises the fragments
//! of links, so a link to `#安装步骤` finds the heading `## 安装步骤`.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

/// Turns heading text into an anchor id: letters and digits of every script kept, ASCII
/// lower-cased, spaces turned into `-`, punctuation dropped. Never empty.
pub fn anchor(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c.to_ascii_lowercase());
        } else if c.is_whitespace() || c == '-' || c == '\u{3000}' {
            pending_dash = true;
        }
    }
    if out.is_empty() {
        out.push_str("heading");
    }
    out
}

/// Hands out distinct anchor ids within one document: the second `概述` gets `概述-1`.
#[derive(Debug, Default)]
pub struct AnchorSet {
    used: HashMap<String, usize>,
}

impl AnchorSet {
    /// Reserves an id for a heading with an explicit `{#id}`.
    pub fn reserve(&mut self, id: &str) {
        self.used.entry(id.to_string()).or_insert(0);
    }

    /// Gives a distinct id for `base`.
    pub fn unique(&mut self, base: String) -> String {
        if !self.used.contains_key(&base) {
            self.used.insert(base.clone(), 0);
            return base;
        }
        let mut n = self.used[&base];
        loop {
            n += 1;
            let candidate = format!("{base}-{n}");
            if !self.used.contains_key(&candidate) {
                self.used.insert(base, n);
                self.used.insert(candidate.clone(), 0);
                return candidate;
            }
        }
    }
}

/// Decodes a link fragment (`%E5%AE%89` or `安装`) to the text an id is compared with.
pub fn decode_fragment(fragment: &str) -> String {
    percent_decode_str(fragment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Finds the id a link fragment points at, trying it as written and then normalised.
pub fn resolve_fragment<'a, I>(fragment: &str, ids: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    let decoded = decode_fragment(fragment);
    if ids.clone().into_iter().any(|id| id == decoded) {
        return Some(decoded);
    }
    let normalised = anchor(&decoded);
    ids.into_iter()
        .find(|id| *id == normalised)
        .map(str::to_string)
}

/// Turns a file name or `slug` into a URL path segment: text kept, spaces turned into `-`,
/// characters with a meaning in URLs or file names dropped.
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        match c {
            c if c.is_whitespace() => {
                if !out.ends_with('-') {
                    out.push('-');
                }
            }
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' | '#' | '%' | '&' | '\'' | '`'
            | '{' | '}' | '^' | '[' | ']' | '=' | '+' | ';' | ',' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_chinese_in_anchors() {
        assert_eq!(anchor("安装步骤"), "安装步骤");
        assert_eq!(anchor("（一）组织机构代码"), "一组织机构代码");
        assert_eq!(anchor("Step 2: Log In"), "step-2-log-in");
        assert_eq!(anchor("？！"), "heading");
    }

    #[test]
    fn homophones_get_distinct_ids_and_duplicates_are_numbered() {
        let mut set = AnchorSet::default();
        let ids: Vec<_> = ["试用", "适用", "概述", "概述"]
            .iter()
            .map(|t| set.unique(anchor(t)))
            .collect();
        assert_eq!(ids, ["试用", "适用", "概述", "概述-1"]);
    }

    #[test]
    fn duplicate_numbering_skips_taken_ids() {
        let mut set = AnchorSet::default();
        set.reserve("a-1");
        assert_eq!(set.unique("a".into()), "a");
        assert_eq!(set.unique("a".into()), "a-2");
    }

    #[test]
    fn resolves_encoded_and_plain_fragments() {
        let ids = ["安装步骤", "q1"];
        let found = |f: &str| resolve_fragment(f, ids.iter().copied());
        assert_eq!(
            found("%E5%AE%89%E8%A3%85%E6%AD%A5%E9%AA%A4").as_deref(),
            Some("安装步骤")
        );
        assert_eq!(found("安装步骤").as_deref(), Some("安装步骤"));
        assert_eq!(found("Q1").as_deref(), Some("q1"));
        assert_eq!(found("不存在"), None);
    }

    #[test]
    fn path_segments_are_url_safe() {
        assert_eq!(path_segment("办事 指南?"), "办事-指南");
        assert_eq!(path_segment("a/b#c"), "abc");
    }
}
