//! Every page of the built site, and the handlers' page template, satisfies the Content
//! Security Policy that CloudFront sends with them (`infra/template.yaml`,
//! `SecurityHeadersPolicy`): no inline script or event-handler attribute unless the policy
//! allows it, no `<style>` element or `style` attribute unless it allows that, and every
//! script, style sheet, image, media file and form target comes from a source the policy
//! names (the site's own origin, or `data:` where allowed). The style sheet and scripts are
//! read too: no `@import` or `url()` off the site, no `eval`.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;

use common::{build_root, repo_root};
use lol_html::{element, HtmlRewriter, Settings};

/// The policy's directives: name → sources.
type Policy = BTreeMap<String, Vec<String>>;

/// The CSP in the template's response headers policy.
fn policy() -> Policy {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("the template is YAML");
    let resources = docs[0]["Resources"].as_hash().expect("Resources");
    let policies: Vec<&str> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::CloudFront::ResponseHeadersPolicy"))
        .filter_map(|r| {
            r["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
                ["ContentSecurityPolicy"]["ContentSecurityPolicy"]
                .as_str()
        })
        .collect();
    assert_eq!(policies.len(), 1, "one CSP in the template");
    policies[0]
        .split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace();
            let name = words.next()?.to_ascii_lowercase();
            Some((name, words.map(str::to_string).collect()))
        })
        .collect()
}

/// The sources of a directive, falling back as browsers do (CSP level 3).
fn sources<'a>(policy: &'a Policy, directive: &str) -> &'a [String] {
    let chain: &[&str] = match directive {
        "script-src-elem" | "script-src-attr" => &[directive, "script-src", "default-src"],
        "style-src-elem" | "style-src-attr" => &[directive, "style-src", "default-src"],
        "form-action" | "base-uri" | "frame-ancestors" => &[directive],
        _ => &[directive, "default-src"],
    };
    chain
        .iter()
        .find_map(|d| policy.get(*d))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// What a resource reference is, for a policy.
enum Source<'a> {
    /// Inline code or style.
    Inline,
    /// A URL on the site's own origin.
    SameOrigin,
    /// A `data:` URL.
    Data,
    /// A URL on another host.
    Elsewhere(&'a str),
}

fn source_of(url: &str) -> Source<'_> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("data:") {
        Source::Data
    } else if lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//") {
        Source::Elsewhere(url)
    } else {
        // Relative and root-relative URLs (the site's base URL is `/` here; a deployment's
        // https://its-domain/ is its own origin as well).
        Source::SameOrigin
    }
}

fn allows(policy: &Policy, directive: &str, source: &Source) -> bool {
    let list = sources(policy, directive);
    let has = |word: &str| list.iter().any(|s| s == word);
    if has("*") && !matches!(source, Source::Inline | Source::Data) {
        return true;
    }
    match source {
        Source::Inline => has("'unsafe-inline'"),
        Source::SameOrigin => has("'self'"),
        Source::Data => has("data:"),
        Source::Elsewhere(url) => list
            .iter()
            .any(|s| s.contains('.') && url.contains(s.as_str())),
    }
}

/// The problems of one HTML page under `policy`.
fn violations(policy: &Policy, html: &str) -> Vec<String> {
    let found = RefCell::new(Vec::new());
    let check = |directive: &str, what: &str, source: Source| {
        if !allows(policy, directive, &source) {
            found
                .borrow_mut()
                .push(format!("{what} (refused by {directive})"));
        }
    };
    let settings = Settings::new().append_element_content_handler(element!("*", |el| {
        let tag = el.tag_name();
        for attribute in el.attributes() {
            let name = attribute.name();
            let value = attribute.value();
            if name.starts_with("on") {
                check(
                    "script-src-attr",
                    &format!("<{tag} {name}=…>"),
                    Source::Inline,
                );
            }
            if name == "style" {
                check(
                    "style-src-attr",
                    &format!("<{tag} style=\"{value}\">"),
                    Source::Inline,
                );
            }
            if (name == "href" || name == "src" || name == "action")
                && value.trim().to_ascii_lowercase().starts_with("javascript:")
            {
                check(
                    "script-src-elem",
                    &format!("<{tag} {name}=javascript:…>"),
                    Source::Inline,
                );
            }
        }
        let attr = |name: &str| el.get_attribute(name);
        match tag.as_str() {
            "script" => {
                let kind = attr("type").unwrap_or_default().to_ascii_lowercase();
                let data_block = !kind.is_empty()
                    && !["text/javascript", "module", "application/javascript"]
                        .contains(&kind.as_str());
                match attr("src") {
                    Some(src) => check(
                        "script-src-elem",
                        &format!("<script src={src}>"),
                        source_of(&src),
                    ),
                    None if data_block => {} // a data block (JSON): never run, so not a script
                    None => check("script-src-elem", "inline <script>", Source::Inline),
                }
            }
            "style" => check("style-src-elem", "<style> element", Source::Inline),
            "link" => {
                let rel = attr("rel").unwrap_or_default().to_ascii_lowercase();
                let href = attr("href").unwrap_or_default();
                let directive = if rel.contains("stylesheet") {
                    "style-src-elem"
                } else if rel.contains("icon") {
                    "img-src"
                } else if rel.contains("manifest") {
                    "manifest-src"
                } else if rel.contains("preload") || rel.contains("modulepreload") {
                    "default-src"
                } else {
                    return Ok(()); // navigation links (canonical, alternate…) load nothing
                };
                check(
                    directive,
                    &format!("<link rel={rel} href={href}>"),
                    source_of(&href),
                );
            }
            "img" | "input" if attr("src").is_some() => {
                let src = attr("src").unwrap_or_default();
                check("img-src", &format!("<{tag} src={src}>"), source_of(&src));
            }
            "video" | "audio" | "source" | "track" => {
                if let Some(src) = attr("src") {
                    check("media-src", &format!("<{tag} src={src}>"), source_of(&src));
                }
                if let Some(poster) = attr("poster") {
                    check(
                        "img-src",
                        &format!("<{tag} poster={poster}>"),
                        source_of(&poster),
                    );
                }
            }
            "iframe" | "frame" => {
                let src = attr("src").unwrap_or_default();
                check("frame-src", &format!("<{tag} src={src}>"), source_of(&src));
            }
            "object" | "embed" => {
                let src = attr("data").or_else(|| attr("src")).unwrap_or_default();
                check("object-src", &format!("<{tag} {src}>"), source_of(&src));
            }
            "form" => {
                let action = attr("action").unwrap_or_default();
                check(
                    "form-action",
                    &format!("<form action={action}>"),
                    source_of(&action),
                );
            }
            "base" => {
                let href = attr("href").unwrap_or_default();
                check("base-uri", &format!("<base href={href}>"), source_of(&href));
            }
            _ => {}
        }
        Ok(())
    }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter.write(html.as_bytes()).expect("the page parses");
    rewriter.end().expect("the page parses");
    found.into_inner()
}

#[test]
fn every_built_page_satisfies_the_deployed_csp() {
    let policy = policy();
    let built = build_root(&repo_root().join("site"));
    let mut pages: Vec<(String, String)> = built
        .files
        .keys()
        .filter(|k| k.ends_with(".html"))
        .map(|k| (k.clone(), built.text(k)))
        .collect();
    // The handlers' pages (errors, review, confirmation) are served under /api/ through the
    // same distribution, with the same headers.
    let handler = repo_root().join("functions/templates/handler.html");
    pages.push((
        "functions/templates/handler.html".into(),
        std::fs::read_to_string(handler).unwrap(),
    ));
    pages.sort();
    assert!(pages.len() > 20, "the site has its pages");

    let mut problems = Vec::new();
    for (path, html) in &pages {
        for v in violations(&policy, html) {
            problems.push(format!("{path}: {v}"));
        }
    }
    problems.dedup();
    assert!(
        problems.is_empty(),
        "pages the CSP in infra/template.yaml would break:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_site_scripts_and_styles_load_nothing_the_csp_refuses() {
    let policy = policy();
    let static_dir = repo_root().join("site/static");
    for entry in walkdir::WalkDir::new(&static_dir) {
        let entry = entry.unwrap();
        let path = entry.path();
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("css" | "js") => std::fs::read_to_string(path).unwrap(),
            _ => continue,
        };
        let name = path
            .strip_prefix(&static_dir)
            .unwrap()
            .display()
            .to_string();
        if name.ends_with(".css") {
            for (i, part) in text.split("url(").enumerate().skip(1) {
                let url = part
                    .split(')')
                    .next()
                    .unwrap_or_default()
                    .trim_matches(|c| c == '"' || c == '\'' || c == ' ');
                let directive = if url.contains(".woff") || url.contains(".ttf") {
                    "font-src"
                } else {
                    "img-src"
                };
                assert!(
                    allows(&policy, directive, &source_of(url)),
                    "{name}: url() number {i}, {url}, is refused by {directive}"
                );
            }
            assert!(
                !text.contains("@import"),
                "{name}: @import (keep one style sheet)"
            );
        } else {
            for word in ["eval(", "new Function", "document.write"] {
                assert!(
                    !text.contains(word) || allows(&policy, "script-src", &Source::Inline),
                    "{name}: `{word}` needs 'unsafe-eval' or inline script"
                );
            }
            for part in text.split(['\'', '"']) {
                if part.starts_with("http://") || part.starts_with("https://") {
                    panic!("{name}: a URL on another host, {part}: connect-src allows only 'self'");
                }
            }
        }
    }
}
