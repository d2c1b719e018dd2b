//! The content tree: sections (`_index.md`), pages (`*.md`, bundles with `index.md`) and
//! the files that sit beside them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use walkdir::WalkDir;

use crate::frontmatter::{self, PageFrontMatter, SectionFrontMatter, SortBy};
use crate::markdown::Heading;
use crate::slug;

/// The suffix of a spreadsheet description that is compiled into an `.xlsx` file.
pub const SHEET_SUFFIX: &str = ".sheet.toml";

/// A problem with one content file, reported with the file's path.
#[derive(Debug, Clone)]
pub struct ContentError {
    /// The file, relative to the content folder.
    pub file: String,
    /// What is wrong and how to fix it, in Chinese.
    pub message: String,
}

impl std::fmt::Display for ContentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`content/{}`：{}", self.file, self.message)
    }
}

/// What rendering a page's or section's markdown gave.
#[derive(Debug, Clone, Default)]
pub struct Body {
    /// The HTML.
    pub content: String,
    /// The HTML before `<!-- more -->`.
    pub summary: Option<String>,
    /// Table of contents.
    pub toc: Vec<Heading>,
    /// The visible text, for search and counting.
    pub text: String,
    /// Words, counting each Chinese character as one.
    pub word_count: usize,
    /// Minutes to read.
    pub reading_time: usize,
}

/// A page: a markdown file other than `_index.md`.
#[derive(Debug, Clone)]
pub struct Page {
    /// The file, relative to the content folder, with `/` separators (`guide/online.md`).
    pub relative_path: String,
    /// The file on disk.
    pub file: PathBuf,
    /// Its front matter.
    pub meta: PageFrontMatter,
    /// Its markdown.
    pub raw: String,
    /// The last URL segment.
    pub slug: String,
    /// Its URL path, such as `/guide/online/`.
    pub path: String,
    /// The section it belongs to, as an index into `Content::sections`.
    pub section: Option<usize>,
    /// Files beside a bundle's `index.md`, as (URL path, file on disk).
    pub assets: Vec<(String, PathBuf)>,
    /// Spreadsheet descriptions in the bundle.
    pub sheets: Vec<PathBuf>,
    /// The rendered body.
    pub body: Body,
}

/// A section: a folder with an `_index.md`.
#[derive(Debug, Clone)]
pub struct Section {
    /// The file, relative to the content folder (`guide/_index.md`, `_index.md` at the root).
    pub relative_path: String,
    /// The file on disk.
    pub file: PathBuf,
    /// Its front matter.
    pub meta: SectionFrontMatter,
    /// Its markdown.
    pub raw: String,
    /// Its URL path, such as `/guide/`.
    pub path: String,
    /// The enclosing section.
    pub parent: Option<usize>,
    /// Its pages, sorted by `sort_by`.
    pub pages: Vec<usize>,
    /// Its direct subsections, sorted by weight.
    pub subsections: Vec<usize>,
    /// Files in the section's folder that are not markdown, as (URL path, file on disk).
    pub assets: Vec<(String, PathBuf)>,
    /// The rendered body.
    pub body: Body,
}

/// Every page and section of a site.
#[derive(Debug, Default)]
pub struct Content {
    /// All pages that are not drafts.
    pub pages: Vec<Page>,
    /// All sections, the root first.
    pub sections: Vec<Section>,
    /// Problems found while loading; the files concerned are left out.
    pub errors: Vec<ContentError>,
}

impl Content {
    /// Finds a page by its content-relative path.
    pub fn page_index(&self) -> HashMap<&str, usize> {
        self.pages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.relative_path.as_str(), i))
            .collect()
    }

    /// Finds a section by its content-relative path.
    pub fn section_index(&self) -> HashMap<&str, usize> {
        self.sections
            .iter()
            .enumerate()
            .map(|(i, s)| (s.relative_path.as_str(), i))
            .collect()
    }

    /// The (lower, higher) neighbours of a page in its section's order.
    pub fn neighbours(&self, page: usize) -> (Option<usize>, Option<usize>) {
        let Some(section) = self.pages[page].section.map(|s| &self.sections[s]) else {
            return (None, None);
        };
        let Some(at) = section.pages.iter().position(|&p| p == page) else {
            return (None, None);
        };
        let before = at.checked_sub(1).map(|i| section.pages[i]);
        let after = section.pages.get(at + 1).copied();
        match section.meta.sort_by.unwrap_or_default() {
            SortBy::Date => (after, before),
            _ => (before, after),
        }
    }

    /// Section paths from the root down to (not including) a page or section.
    pub fn ancestors(&self, mut section: Option<usize>) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(s) = section {
            out.push(self.sections[s].relative_path.clone());
            section = self.sections[s].parent;
        }
        out.reverse();
        out
    }
}

/// Reads every content file under `dir`.
pub fn load(dir: &Path) -> Result<Content> {
    if !dir.is_dir() {
        anyhow::bail!(
            "找不到内容目录 `{}`：请创建它，或在 config.toml 中用 content_dir 指定",
            dir.display()
        );
    }
    // Absolute paths let the file watcher's events be matched to pages directly.
    let dir = &dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut content = Content::default();
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("读取内容目录 `{}` 失败", dir.display()))?;
        if entry.file_type().is_file() && !is_hidden(entry.path(), dir) {
            files.push(entry.into_path());
        }
    }
    let relative = |p: &Path| -> String {
        p.strip_prefix(dir)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };

    let section_dirs: Vec<String> = files
        .iter()
        .map(|f| relative(f))
        .filter(|r| r == "_index.md" || r.ends_with("/_index.md"))
        .map(|r| parent_dir(&r).to_string())
        .collect();
    let bundle_dirs: Vec<String> = files
        .iter()
        .map(|f| relative(f))
        .filter(|r| r.ends_with("/index.md") && !section_dirs.contains(&parent_dir(r).to_string()))
        .map(|r| parent_dir(&r).to_string())
        .collect();
    if !section_dirs.iter().any(|d| d.is_empty()) {
        content.sections.push(root_section(dir));
    }

    for file in &files {
        let rel = relative(file);
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        if name == "_index.md" {
            match read_section(file, &rel) {
                Ok(section) => content.sections.push(section),
                Err(e) => content.errors.push(ContentError {
                    file: rel,
                    message: format!("{e:#}"),
                }),
            }
        } else if rel.ends_with(".md") && !inside_bundle(&rel, &bundle_dirs, true) {
            match read_page(file, &rel) {
                Ok(Some(page)) => content.pages.push(page),
                Ok(None) => {}
                Err(e) => content.errors.push(ContentError {
                    file: rel,
                    message: format!("{e:#}"),
                }),
            }
        }
    }
    content
        .sections
        .sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
    if let Some(root) = content
        .sections
        .iter()
        .position(|s| s.relative_path == "_index.md")
    {
        let root = content.sections.remove(root);
        content.sections.insert(0, root);
    }

    attach_assets(&mut content, &files, &relative, &bundle_dirs);
    link_tree(&mut content);
    Ok(content)
}

/// Reads one page file again, for a quick rebuild after an edit.
pub fn load_single_page(file: &Path, relative_path: &str) -> Result<Page> {
    read_page(file, relative_path)?.context("页面已设为草稿")
}

fn is_hidden(path: &Path, root: &Path) -> bool {
    path.strip_prefix(root)
        .map(|p| {
            p.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        })
        .unwrap_or(false)
}

fn parent_dir(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// Whether `rel` is a file inside a page bundle; with `skip_index`, the bundle's own
/// `index.md` does not count.
fn inside_bundle(rel: &str, bundles: &[String], skip_index: bool) -> bool {
    bundles.iter().any(|b| {
        rel.starts_with(&format!("{b}/")) && !(skip_index && rel == format!("{b}/index.md"))
    })
}

fn root_section(dir: &Path) -> Section {
    Section {
        relative_path: "_index.md".into(),
        file: dir.join("_index.md"),
        meta: SectionFrontMatter::default(),
        raw: String::new(),
        path: "/".into(),
        parent: None,
        pages: Vec::new(),
        subsections: Vec::new(),
        assets: Vec::new(),
        body: Body::default(),
    }
}

fn read_text(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("无法读取 `{}`", file.display()))?;
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("文件不是 UTF-8 编码：请用编辑器“另存为 UTF-8”后再构建"))
}

fn read_section(file: &Path, rel: &str) -> Result<Section> {
    let text = read_text(file)?;
    let (front, body) = frontmatter::split(&text)?;
    let meta: SectionFrontMatter = frontmatter::parse(front)?;
    let dir = parent_dir(rel);
    let path = url_path(
        dir.split('/')
            .filter(|s| !s.is_empty())
            .map(slug::path_segment),
    );
    Ok(Section {
        relative_path: rel.to_string(),
        file: file.to_path_buf(),
        meta,
        raw: normalise_body(body),
        path,
        parent: None,
        pages: Vec::new(),
        subsections: Vec::new(),
        assets: Vec::new(),
        body: Body::default(),
    })
}

fn read_page(file: &Path, rel: &str) -> Result<Option<Page>> {
    let text = read_text(file)?;
    let (front, body) = frontmatter::split(&text)?;
    let meta: PageFrontMatter = frontmatter::parse(front)?;
    if meta.draft {
        return Ok(None);
    }
    let is_bundle = rel == "index.md" || rel.ends_with("/index.md");
    let (dir, stem) = if is_bundle {
        let dir = parent_dir(rel);
        (parent_dir(dir), dir.rsplit('/').next().unwrap_or(dir))
    } else {
        (
            parent_dir(rel),
            rel.rsplit('/')
                .next()
                .unwrap_or(rel)
                .trim_end_matches(".md"),
        )
    };
    let slug = slug::path_segment(meta.slug.as_deref().unwrap_or(stem));
    if slug.is_empty() {
        anyhow::bail!("无法从文件名得出网址：请在前言中加 slug = \"英文或拼音名\"");
    }
    let path = match &meta.path {
        Some(p) => url_path(p.split('/').filter(|s| !s.is_empty()).map(str::to_string)),
        None => url_path(
            dir.split('/')
                .filter(|s| !s.is_empty())
                .map(slug::path_segment)
                .chain([slug.clone()]),
        ),
    };
    Ok(Some(Page {
        relative_path: rel.to_string(),
        file: file.to_path_buf(),
        meta,
        raw: normalise_body(body),
        slug,
        path,
        section: None,
        assets: Vec::new(),
        sheets: Vec::new(),
        body: Body::default(),
    }))
}

fn normalise_body(body: &str) -> String {
    if body.contains('\r') {
        body.replace("\r\n", "\n")
    } else {
        body.to_string()
    }
}

fn url_path<I: IntoIterator<Item = String>>(parts: I) -> String {
    let mut path = String::from("/");
    for part in parts {
        path.push_str(&part);
        path.push('/');
    }
    path
}

fn attach_assets(
    content: &mut Content,
    files: &[PathBuf],
    relative: &dyn Fn(&Path) -> String,
    bundles: &[String],
) {
    let page_by_dir: HashMap<String, usize> = content
        .pages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.relative_path.ends_with("index.md"))
        .map(|(i, p)| (parent_dir(&p.relative_path).to_string(), i))
        .collect();
    let section_by_dir: HashMap<String, usize> = content
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| (parent_dir(&s.relative_path).to_string(), i))
        .collect();
    for file in files {
        let rel = relative(file);
        if rel.ends_with(".md") {
            continue;
        }
        let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
        if let Some(bundle) = bundles.iter().find(|b| rel.starts_with(&format!("{b}/"))) {
            let Some(&page) = page_by_dir.get(bundle) else {
                continue;
            };
            let page = &mut content.pages[page];
            if name.ends_with(SHEET_SUFFIX) {
                page.sheets.push(file.clone());
            } else {
                let inner = &rel[bundle.len() + 1..];
                page.assets
                    .push((format!("{}{inner}", page.path), file.clone()));
            }
        } else if let Some(&section) = section_by_dir.get(parent_dir(&rel)) {
            let section = &mut content.sections[section];
            section
                .assets
                .push((format!("{}{name}", section.path), file.clone()));
        }
    }
}

/// Sets parents, fills and sorts each section's pages and subsections.
fn link_tree(content: &mut Content) {
    let section_by_dir: HashMap<String, usize> = content
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| (parent_dir(&s.relative_path).to_string(), i))
        .collect();
    let nearest = |mut dir: &str| -> Option<usize> {
        loop {
            if let Some(&s) = section_by_dir.get(dir) {
                return Some(s);
            }
            if dir.is_empty() {
                return None;
            }
            dir = parent_dir(dir);
        }
    };
    for i in 1..content.sections.len() {
        let dir = parent_dir(&content.sections[i].relative_path).to_string();
        let parent = nearest(parent_dir(&dir));
        content.sections[i].parent = parent;
        if let Some(p) = parent {
            content.sections[p].subsections.push(i);
        }
    }
    for i in 0..content.pages.len() {
        let rel = content.pages[i].relative_path.clone();
        let mut dir = parent_dir(&rel);
        if rel.ends_with("/index.md") {
            dir = parent_dir(dir);
        }
        let section = section_by_dir.get(dir).copied();
        content.pages[i].section = section.or_else(|| nearest(dir));
        if let Some(s) = section {
            content.sections[s].pages.push(i);
        }
    }
    let weights: Vec<(i64, String)> = content
        .sections
        .iter()
        .map(|s| (s.meta.weight.unwrap_or(i64::MAX), s.relative_path.clone()))
        .collect();
    for s in 0..content.sections.len() {
        let mut subs = std::mem::take(&mut content.sections[s].subsections);
        subs.sort_by(|a, b| weights[*a].cmp(&weights[*b]));
        content.sections[s].subsections = subs;
        let mut pages = std::mem::take(&mut content.sections[s].pages);
        sort_pages(
            &mut pages,
            &content.pages,
            content.sections[s].meta.sort_by.unwrap_or_default(),
        );
        content.sections[s].pages = pages;
    }
}

fn sort_pages(list: &mut [usize], pages: &[Page], sort_by: SortBy) {
    match sort_by {
        SortBy::Weight => list.sort_by_key(|&p| {
            (
                pages[p].meta.weight.is_none(),
                pages[p].meta.weight,
                pages[p].relative_path.clone(),
            )
        }),
        SortBy::Date => list.sort_by(|&a, &b| {
            let date = |p: usize| pages[p].meta.date.as_ref().map(|d| d.as_string());
            date(b)
                .cmp(&date(a))
                .then_with(|| pages[a].relative_path.cmp(&pages[b].relative_path))
        }),
        SortBy::Title => list.sort_by(|&a, &b| pages[a].meta.title.cmp(&pages[b].meta.title)),
        SortBy::None => list.sort_by(|&a, &b| pages[a].relative_path.cmp(&pages[b].relative_path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn can_load_sections_pages_and_bundles() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "_index.md", "+++\ntitle = \"首页\"\n+++\n");
        write(
            root,
            "guide/_index.md",
            "+++\ntitle = \"指南\"\nsort_by = \"weight\"\n+++\n",
        );
        write(root, "guide/b.md", "+++\ntitle = \"乙\"\nweight = 2\n+++\n");
        write(root, "guide/a.md", "+++\ntitle = \"甲\"\nweight = 1\n+++\n");
        write(
            root,
            "guide/form/index.md",
            "+++\ntitle = \"表\"\nweight = 3\n+++\n",
        );
        write(root, "guide/form/x.pdf", "pdf");
        write(root, "guide/form/x.sheet.toml", "title = \"t\"");
        write(
            root,
            "guide/draft.md",
            "+++\ntitle = \"草稿\"\ndraft = true\n+++\n",
        );
        write(root, "bad.md", "no front matter");
        let content = load(root).unwrap();
        assert_eq!(content.sections.len(), 2);
        let guide = &content.sections[1];
        let titles: Vec<_> = guide
            .pages
            .iter()
            .map(|&p| content.pages[p].meta.title.clone().unwrap())
            .collect();
        assert_eq!(titles, ["甲", "乙", "表"]);
        let form = content
            .pages
            .iter()
            .find(|p| p.path == "/guide/form/")
            .unwrap();
        assert_eq!(form.assets[0].0, "/guide/form/x.pdf");
        assert_eq!(form.sheets.len(), 1);
        assert_eq!(content.sections[0].subsections, [1]);
        assert_eq!(content.errors.len(), 1);
        assert_eq!(content.errors[0].file, "bad.md");
        let (lower, higher) = content.neighbours(guide.pages[1]);
        assert_eq!(
            (lower, higher),
            (Some(guide.pages[0]), Some(guide.pages[2]))
        );
    }
}
