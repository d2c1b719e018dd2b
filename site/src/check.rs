//! Checks on built HTML: every internal link and anchor resolves, every image has alt text.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use lol_html::{element, HtmlRewriter, Settings};
use url::Url;

use crate::slug;

/// What one HTML page links to and offers as anchors.
#[derive(Debug, Default, Clone)]
pub struct PageScan {
    /// `id` (and `a[name]`) values.
    pub ids: HashSet<String>,
    /// `href` and `src` values, as written.
    pub links: Vec<String>,
    /// `src` of images without alt text.
    pub missing_alt: Vec<String>,
}

/// One problem found by the checker.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The content file (or output file) where the problem shows.
    pub file: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`：{}", self.file, self.message)
    }
}

/// Reads the anchors, links and images of one page.
pub fn scan(html: &str) -> PageScan {
    let scan = RefCell::new(PageScan::default());
    let settings = Settings::new()
        .append_element_content_handler(element!("[id]", |el| {
            if let Some(id) = el.get_attribute("id") {
                scan.borrow_mut().ids.insert(id);
            }
            Ok(())
        }))
        .append_element_content_handler(element!("a[name]", |el| {
            if let Some(name) = el.get_attribute("name") {
                scan.borrow_mut().ids.insert(name);
            }
            Ok(())
        }))
        .append_element_content_handler(element!("a[href], link[href], area[href]", |el| {
            if let Some(href) = el.get_attribute("href") {
                scan.borrow_mut().links.push(href);
            }
            Ok(())
        }))
        .append_element_content_handler(element!("img, script[src], source[src]", |el| {
            let Some(src) = el.get_attribute("src") else {
                return Ok(());
            };
            scan.borrow_mut().links.push(src.clone());
            if el.tag_name() == "img" && lacks_alt(el.get_attribute("alt"), el) {
                scan.borrow_mut().missing_alt.push(src);
            }
            Ok(())
        }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    // Parsing never fails on our own output; a failure only means fewer links are checked.
    let _ = rewriter.write(html.as_bytes());
    let _ = rewriter.end();
    scan.into_inner()
}

/// Whether an image lacks alt text: no `alt`, or an empty one on an image not marked
/// decorative.
fn lacks_alt(alt: Option<String>, el: &lol_html::html_content::Element<'_, '_>) -> bool {
    let decorative = matches!(
        el.get_attribute("role").as_deref(),
        Some("presentation" | "none")
    ) || el.get_attribute("aria-hidden").as_deref() == Some("true");
    match alt {
        None => true,
        Some(text) => text.trim().is_empty() && !decorative,
    }
}

/// The URL path of an output file: `guide/index.html` → `/guide/`.
pub fn url_path_of(output_path: &str) -> String {
    let path = format!("/{output_path}");
    match path.strip_suffix("index.html") {
        Some(dir) => dir.to_string(),
        None => path,
    }
}

/// Checks every page's links against the built files.
///
/// `pages` maps an output path to its scan, `files` lists every output path, and
/// `source_of` names the content file that produced an output path.
pub fn check_links(
    pages: &HashMap<String, PageScan>,
    files: &HashSet<String>,
    base_url: &str,
    source_of: &HashMap<String, String>,
) -> Vec<Problem> {
    let site = Url::parse("http://site.invalid/").expect("a fixed valid URL");
    let base = base_url.trim_end_matches('/');
    let mut problems = Vec::new();
    for (output, scan) in pages {
        let file = source_of
            .get(output)
            .cloned()
            .unwrap_or_else(|| output.clone());
        let here = site
            .join(&url_path_of(output))
            .unwrap_or_else(|_| site.clone());
        for src in &scan.missing_alt {
            problems.push(Problem {
                file: file.clone(),
                message: format!(
                    "图片 `{src}` 缺少替代文字：请写成 ![图片内容的描述]({src})，或在 img 上加 alt"
                ),
            });
        }
        for link in &scan.links {
            if let Some(message) = check_one(link, &here, base, output, scan, pages, files) {
                problems.push(Problem {
                    file: file.clone(),
                    message,
                });
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

fn check_one(
    link: &str,
    here: &Url,
    base: &str,
    output: &str,
    scan: &PageScan,
    pages: &HashMap<String, PageScan>,
    files: &HashSet<String>,
) -> Option<String> {
    let local = if !base.is_empty() && base.contains("://") && link.starts_with(base) {
        let rest = &link[base.len()..];
        if rest.is_empty() {
            "/".to_string()
        } else {
            rest.to_string()
        }
    } else {
        link.to_string()
    };
    // `@/` links that did not resolve are reported by the markdown step already.
    if local.starts_with("@/")
        || local.starts_with("//")
        || local.contains(':') && !local.starts_with('/') && !local.starts_with('#')
    {
        return None;
    }
    let url = here.join(&local).ok()?;
    let path = slug::decode_fragment(url.path());
    let target = resolve_file(&path, files);
    let Some(target) = target else {
        return Some(format!(
            "链接 `{link}` 指向的页面或文件不存在：请改成现有页面，或用 @/路径.md 写内部链接"
        ));
    };
    let fragment = url.fragment()?;
    if fragment.is_empty() || fragment == "top" {
        return None;
    }
    let wanted = slug::decode_fragment(fragment);
    let ids = if target == output {
        Some(&scan.ids)
    } else {
        pages.get(&target).map(|s| &s.ids)
    };
    match ids {
        Some(ids) if ids.contains(&wanted) => None,
        Some(_) => Some(format!(
            "链接 `{link}` 中的锚点 `#{wanted}` 不存在：请对照目标页面的小标题（锚点就是标题文字）修改"
        )),
        None => None,
    }
}

fn resolve_file(path: &str, files: &HashSet<String>) -> Option<String> {
    let relative = path.trim_start_matches('/');
    if relative.is_empty() || relative.ends_with('/') {
        let candidate = format!("{relative}index.html");
        return files.contains(&candidate).then_some(candidate);
    }
    if files.contains(relative) {
        return Some(relative.to_string());
    }
    let candidate = format!("{relative}/index.html");
    files.contains(&candidate).then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ids_links_and_missing_alt() {
        let scan = scan("<h2 id=\"安装步骤\">x</h2><a href=\"#安装步骤\">a</a><img src=\"a.png\"><img src=\"b.png\" alt=\"图\">");
        assert!(scan.ids.contains("安装步骤"));
        assert_eq!(scan.links, ["#安装步骤", "a.png", "b.png"]);
        assert_eq!(scan.missing_alt, ["a.png"]);
    }

    #[test]
    fn reports_missing_pages_and_anchors_only() {
        let mut pages = HashMap::new();
        pages.insert(
            "index.html".to_string(),
            scan("<a href=\"/guide/#%E5%AE%89%E8%A3%85\">1</a><a href=\"/guide/#不存在\">2</a>\
                  <a href=\"/nope/\">3</a><a href=\"https://elsewhere.example/\">4</a><a href=\"tel:12333\">5</a>"),
        );
        pages.insert(
            "guide/index.html".to_string(),
            scan("<h2 id=\"安装\">安装</h2>"),
        );
        let files: HashSet<String> = pages.keys().cloned().collect();
        let sources = HashMap::from([("index.html".to_string(), "_index.md".to_string())]);
        let problems = check_links(&pages, &files, "/", &sources);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(|p| p.file == "_index.md"));
        assert!(problems.iter().any(|p| p.message.contains("#不存在")));
        assert!(problems.iter().any(|p| p.message.contains("/nope/")));
    }
}
