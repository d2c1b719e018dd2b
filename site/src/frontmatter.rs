//! Splitting a content file into its TOML front matter and its markdown body.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// A date as written in front matter: a TOML date or datetime, or a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DateValue {
    /// `date = 2025-01-02` or `date = 2025-01-02T10:00:00`.
    Toml(toml::value::Datetime),
    /// `date = "2025-01-02"`.
    Text(String),
}

impl DateValue {
    /// The date as text, in the form it was written.
    pub fn as_string(&self) -> String {
        match self {
            DateValue::Toml(d) => d.to_string(),
            DateValue::Text(s) => s.clone(),
        }
    }
}

/// The front matter of a page (`*.md` other than `_index.md`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageFrontMatter {
    /// Page title.
    pub title: Option<String>,
    /// One-line description for meta tags and listings.
    pub description: Option<String>,
    /// Publication date; sorts pages when the section sorts by date.
    pub date: Option<DateValue>,
    /// Last update date.
    pub updated: Option<DateValue>,
    /// Sort key when the section sorts by weight.
    pub weight: Option<i64>,
    /// Drafts are left out of the build.
    pub draft: bool,
    /// Replaces the file name in the URL.
    pub slug: Option<String>,
    /// Replaces the whole URL path.
    pub path: Option<String>,
    /// Old URLs that redirect here.
    pub aliases: Vec<String>,
    /// Template to render with instead of the section's `page_template` or `page.html`.
    pub template: Option<String>,
    /// Authors, as in Zola.
    pub authors: Vec<String>,
    /// Taxonomy terms, as in Zola; kept for templates.
    pub taxonomies: BTreeMap<String, Vec<String>>,
    /// Whether the page goes into the search index (default true).
    pub in_search_index: Option<bool>,
    /// Whether the page is rendered (default true).
    pub render: Option<bool>,
    /// Free-form values for templates.
    pub extra: toml::Table,
}

/// The front matter of a section (`_index.md`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SectionFrontMatter {
    /// Section title.
    pub title: Option<String>,
    /// One-line description.
    pub description: Option<String>,
    /// How pages are ordered: `weight`, `date`, `title` or `none`.
    pub sort_by: Option<SortBy>,
    /// Sort key among sibling sections.
    pub weight: Option<i64>,
    /// Template for the section itself (default `section.html`, `index.html` at the root).
    pub template: Option<String>,
    /// Template for the section's pages.
    pub page_template: Option<String>,
    /// Accepted for Zola compatibility; pagination is not done.
    pub paginate_by: Option<usize>,
    /// Accepted for Zola compatibility.
    pub paginate_path: Option<String>,
    /// Accepted for Zola compatibility.
    pub insert_anchor_links: Option<String>,
    /// Accepted for Zola compatibility.
    pub transparent: bool,
    /// Sends visitors of the section to this address.
    pub redirect_to: Option<String>,
    /// Old URLs that redirect here.
    pub aliases: Vec<String>,
    /// Whether the section page is rendered (default true).
    pub render: Option<bool>,
    /// Whether the section goes into the search index (default true).
    pub in_search_index: Option<bool>,
    /// Accepted for Zola compatibility.
    pub generate_feeds: bool,
    /// Drafts are left out of the build.
    pub draft: bool,
    /// Free-form values for templates.
    pub extra: toml::Table,
}

/// Page order inside a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// By `weight`, lightest first.
    Weight,
    /// By `date`, newest first.
    Date,
    /// By `title`.
    Title,
    /// In file-name order.
    #[default]
    None,
}

/// Splits file text into (front matter, body). Accepts a BOM and CRLF line ends.
pub fn split(text: &str) -> Result<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text.trim_start_matches([' ', '\t', '\n', '\r']);
    let Some(rest) = rest.strip_prefix("+++") else {
        if text.trim_start().starts_with("---") {
            bail!("前言用的是 YAML 的 `---`：请改成 TOML 格式，用 `+++` 行包围");
        }
        bail!("文件开头没有前言（front matter）：请在第一行和标题等设置之后各加一行 `+++`");
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
        .unwrap_or(rest);
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            let front = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Ok((front, body));
        }
        offset += line.len();
    }
    bail!("前言没有结束：请在设置项之后加一行 `+++`")
}

/// Parses TOML front matter into `T`, with a message that names the line and the fix.
pub fn parse<T: serde::de::DeserializeOwned>(front: &str) -> Result<T> {
    let front = if front.contains('\r') {
        front.replace("\r\n", "\n")
    } else {
        front.to_string()
    };
    toml::from_str(&front).map_err(|e| {
        let msg = e.message().to_string();
        let line = e
            .span()
            .map(|s| front[..s.start.min(front.len())].matches('\n').count() + 1);
        let hint = if msg.contains("unknown field") {
            "自定义的设置项请放到 [extra] 表下面"
        } else if msg.contains("expected i64") || msg.contains("expected u") {
            "这一项应填整数，例如 weight = 3，不加引号"
        } else if msg.contains("expected a boolean") {
            "这一项应填 true 或 false，不加引号"
        } else {
            "请按 TOML 语法修改：文字要加英文引号，日期写成 2025-01-31"
        };
        match line {
            Some(line) => anyhow::anyhow!("前言第 {line} 行：{msg}。{hint}"),
            None => anyhow::anyhow!("前言有误：{msg}。{hint}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_split_with_bom_and_crlf() {
        let (front, body) = split("\u{feff}+++\r\ntitle = \"关于我们\"\r\n+++\r\n正文").unwrap();
        let fm: PageFrontMatter = parse(front).unwrap();
        assert_eq!(fm.title.as_deref(), Some("关于我们"));
        assert_eq!(body, "正文");
    }

    #[test]
    fn errors_on_missing_front_matter() {
        let err = split("正文").unwrap_err().to_string();
        assert!(err.contains("+++"), "{err}");
    }

    #[test]
    fn errors_on_unclosed_front_matter() {
        assert!(split("+++\ntitle = \"x\"\n")
            .unwrap_err()
            .to_string()
            .contains("没有结束"));
    }

    #[test]
    fn errors_on_unknown_key_with_hint() {
        let err = parse::<PageFrontMatter>("title = \"x\"\ncolour = \"red\"").unwrap_err();
        let err = err.to_string();
        assert!(err.contains("第 2 行") && err.contains("[extra]"), "{err}");
    }

    #[test]
    fn reads_toml_dates() {
        let fm: PageFrontMatter = parse("date = 2025-03-04").unwrap();
        assert_eq!(fm.date.unwrap().as_string(), "2025-03-04");
    }
}
