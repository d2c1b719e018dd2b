//! The site configuration, read from `config.toml` with Zola's key names.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Markdown options, the `[markdown]` table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MarkdownConfig {
    /// Where heading anchor links go: "none" (default), "left", "right" or "heading".
    pub insert_anchor_links: Option<String>,
    /// Accepted for Zola compatibility; highlighting is not done.
    pub highlight_code: bool,
}

/// Search options, the `[search]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchConfig {
    /// Whether page bodies go into the index (default true).
    pub include_content: bool,
    /// Cut each body to this many characters; 0 keeps it whole.
    pub truncate_content_length: usize,
    /// Accepted for Zola compatibility; our index always has its own format.
    pub index_format: Option<String>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            include_content: true,
            truncate_content_length: 0,
            index_format: None,
        }
    }
}

/// The whole `config.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The site's address; permalinks start with it.
    pub base_url: String,
    /// The site's name.
    pub title: Option<String>,
    /// The site's one-line description.
    pub description: Option<String>,
    /// The language tag of the content, such as `zh-CN` or `zh-Hans`.
    pub default_language: String,
    /// Whether to write `search-index.json`.
    pub build_search_index: bool,
    /// Whether to write sitemap.xml (default true).
    pub generate_sitemap: bool,
    /// Whether to write robots.txt (default true).
    pub generate_robots_txt: bool,
    /// Our extension: where the content folder is, relative to the site root.
    pub content_dir: Option<String>,
    /// Markdown options.
    pub markdown: MarkdownConfig,
    /// Search options.
    pub search: SearchConfig,
    /// Free-form values for templates.
    pub extra: toml::Table,
    /// Keys Zola knows that we read but do not act on (feeds, sass, taxonomies…).
    #[serde(flatten)]
    pub other: toml::Table,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: "/".into(),
            title: None,
            description: None,
            default_language: "zh-CN".into(),
            build_search_index: false,
            generate_sitemap: true,
            generate_robots_txt: true,
            content_dir: None,
            markdown: MarkdownConfig::default(),
            search: SearchConfig::default(),
            extra: toml::Table::new(),
            other: toml::Table::new(),
        }
    }
}

impl Config {
    /// Reads and checks `config.toml` in `root`.
    pub fn load(root: &Path) -> Result<Config> {
        let path = root.join("config.toml");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "读不到配置文件 `{}`：请在站点根目录放一个 config.toml",
                path.display()
            )
        })?;
        Config::parse(&strip_bom(&text))
            .with_context(|| format!("配置文件 `{}` 有误", path.display()))
    }

    /// Parses config text.
    pub fn parse(text: &str) -> Result<Config> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "{}请按 TOML 语法修改（字符串要加引号，表名写在方括号里）",
                e
            )
        })?;
        if config.base_url.is_empty() {
            config.base_url = "/".into();
        }
        Ok(config)
    }

    /// The content folder for a site rooted at `root`.
    pub fn content_path(&self, root: &Path) -> PathBuf {
        root.join(self.content_dir.as_deref().unwrap_or("content"))
    }

    /// Joins the base URL and a site path (`/guide/`) into a permalink.
    pub fn make_permalink(&self, path: &str) -> String {
        let base = self.base_url.trim_end_matches('/');
        let path = path.trim_start_matches('/');
        format!("{base}/{path}")
    }
}

/// Removes a leading byte-order mark and turns CRLF line ends into LF.
pub fn strip_bom(text: &str) -> std::borrow::Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_read_zola_bench_config() {
        let config = Config::parse(
            "base_url = \"https://x.example\"\ntitle = \"t\"\ndefault_language = \"zh\"\n\
             compile_sass = false\ngenerate_feeds = true\nbuild_search_index = false\n\
             taxonomies = [{ name = \"tags\", feed = false }]\n[markdown]\n\
             insert_anchor_links = \"none\"\n[search]\nindex_format = \"fuse_json\"\n",
        )
        .unwrap();
        assert_eq!(config.make_permalink("/guide/"), "https://x.example/guide/");
        assert!(config.other.contains_key("taxonomies"));
    }

    #[test]
    fn errors_on_bad_toml_in_chinese() {
        let err = Config::parse("title = 未加引号").unwrap_err();
        assert!(err.to_string().contains("TOML"));
    }

    #[test]
    fn strips_bom_and_crlf() {
        assert_eq!(strip_bom("\u{feff}a\r\nb"), "a\nb");
    }
}
